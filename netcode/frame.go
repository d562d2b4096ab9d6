package netcode

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// Field numbers of arena.proto used by the hand-written encoders below. A
// golden test checks them against proto.Marshal.
const (
	serverSnapshotField = 7
	snapshotTickField   = 1
	snapshotAgeField    = 2
	snapshotAckField    = 3
	snapshotStateField  = 4
)

// AppendSnapshotFrame appends the encoding of
// ServerMessage{snapshot: {tick, baseline_age, input_ack, state}} to dst,
// byte for byte what proto.Marshal gives, without allocating when dst has
// room. The room calls it once per member per snapshot.
func AppendSnapshotFrame(dst []byte, tick, baselineAge, inputAck uint32, state []byte) []byte {
	size := varintField(snapshotTickField, tick) + varintField(snapshotAgeField, baselineAge) +
		varintField(snapshotAckField, inputAck)
	if len(state) > 0 {
		size += protowire.SizeTag(snapshotStateField) + protowire.SizeBytes(len(state))
	}
	dst = protowire.AppendTag(dst, serverSnapshotField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = appendVarintField(dst, snapshotTickField, tick)
	dst = appendVarintField(dst, snapshotAgeField, baselineAge)
	dst = appendVarintField(dst, snapshotAckField, inputAck)
	if len(state) > 0 {
		dst = protowire.AppendTag(dst, snapshotStateField, protowire.BytesType)
		dst = protowire.AppendBytes(dst, state)
	}
	return dst
}

func varintField(num protowire.Number, v uint32) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(uint64(v))
}

func appendVarintField(dst []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return dst
	}
	return protowire.AppendVarint(protowire.AppendTag(dst, num, protowire.VarintType), uint64(v))
}

// ErrUnknownMessage is returned for a message that decodes but carries no
// body this side knows (a newer peer, or garbage that happens to parse).
var ErrUnknownMessage = errors.New("netcode: unknown message")

// ErrMalformedFrame is returned for a frame that is not valid protobuf.
var ErrMalformedFrame = errors.New("netcode: malformed frame")

// DecodeClient parses one client frame into m (reset first). It returns
// ErrMalformedFrame or ErrUnknownMessage, wrapped with detail.
func DecodeClient(data []byte, m *sessionpb.ClientMessage) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	if m.Body == nil {
		return ErrUnknownMessage
	}
	return nil
}

// DecodeServer parses one server frame into m (reset first), like
// DecodeClient.
func DecodeServer(data []byte, m *sessionpb.ServerMessage) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	if m.Body == nil {
		return ErrUnknownMessage
	}
	return nil
}

// Marshal encodes a message, panicking on failure: generated messages
// without required fields cannot fail to marshal.
func Marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("netcode: marshal %T: %v", m, err))
	}
	return b
}

// ErrorFrame encodes ServerMessage{error} answering requestID (0 for none).
func ErrorFrame(requestID uint32, code sessionpb.ErrorCode, fatal bool, msg string) []byte {
	return Marshal(&sessionpb.ServerMessage{
		RequestId: requestID,
		Body: &sessionpb.ServerMessage_Error{Error: &sessionpb.Error{
			Code: code, Message: msg, Fatal: fatal,
		}},
	})
}

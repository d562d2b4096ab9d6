package netcode

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// The frames a match is made of (an input batch per player per tick, a
// snapshot per member per snapshot tick) are read and written here without
// the protobuf runtime, byte for byte compatible with it: tests compare with
// proto.Marshal and proto.Unmarshal, and a fuzz test checks that every frame
// the fast paths accept decodes to the same values with the runtime.

// Field numbers of arena.proto used below.
const (
	clientInputsField  = 6
	clientAckSeqField  = 21
	batchFirstSeqField = 1
	batchAckTickField  = 4
	batchViewTickField = 5
	batchInputsField   = 6
)

// ClientDecoder decodes client frames. Input batches, nearly every frame of
// a match, are parsed without allocating once its slices have grown; any
// other frame goes through proto.Unmarshal. Not safe for concurrent use; one
// per connection.
type ClientDecoder struct {
	msg   sessionpb.ClientMessage
	in    sessionpb.ClientMessage_Inputs
	batch sessionpb.InputBatch
	// Backing array of batch.Inputs while a batch fits, so decoding touches
	// the decoder's memory only. The inputs alias the frame.
	inputs [8][]byte
}

// Decode parses data. The message is valid until the next Decode. Errors
// are those of DecodeClient.
func (d *ClientDecoder) Decode(data []byte) (*sessionpb.ClientMessage, error) {
	if ackSeq, ok := d.parseInputs(data); ok {
		d.in.Inputs = &d.batch
		d.msg = sessionpb.ClientMessage{AckSeq: ackSeq, Body: &d.in}
		return &d.msg, nil
	}
	if err := DecodeClient(data, &d.msg); err != nil {
		return nil, err
	}
	return &d.msg, nil
}

// parseInputs reads a frame holding only ClientMessage.ack_seq and an
// InputBatch body with packed repeated fields (what every protobuf encoder
// writes). ok is false for anything else, which the runtime then decodes.
func (d *ClientDecoder) parseInputs(data []byte) (ackSeq uint32, ok bool) {
	var body []byte
	seen := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return 0, false
		}
		data = data[n:]
		switch {
		case num == clientAckSeqField && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return 0, false
			}
			ackSeq, data = uint32(v), data[n:]
		case num == clientInputsField && typ == protowire.BytesType && !seen:
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return 0, false
			}
			body, data, seen = v, data[n:], true
		default:
			return 0, false
		}
	}
	if !seen {
		return 0, false
	}
	b := &d.batch
	inputs := b.Inputs[:0]
	if inputs == nil {
		inputs = d.inputs[:0]
	}
	*b = sessionpb.InputBatch{}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, false
		}
		body = body[n:]
		switch {
		case typ == protowire.VarintType && (num == batchFirstSeqField || num == batchAckTickField || num == batchViewTickField):
			v, n := protowire.ConsumeVarint(body)
			if n < 0 {
				return 0, false
			}
			body = body[n:]
			switch num {
			case batchFirstSeqField:
				b.FirstSeq = uint32(v)
			case batchAckTickField:
				b.AckTick = uint32(v)
			default:
				b.ViewTick = uint32(v)
			}
		case typ == protowire.BytesType && num == batchInputsField:
			in, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return 0, false
			}
			body = body[n:]
			if in == nil {
				in = []byte{} // present but empty, as the runtime decodes it
			}
			inputs = append(inputs, in)
		default:
			return 0, false
		}
	}
	b.Inputs = inputs
	return ackSeq, true
}

// AppendInputFrame appends the encoding of
// ClientMessage{ack_seq, inputs: {first_seq, inputs, ack_tick, view_tick}}
// to dst, what proto.Marshal writes, without allocating when dst has room.
func AppendInputFrame(dst []byte, ackSeq, firstSeq uint32, inputs [][]byte, ackTick, viewTick uint32) []byte {
	size := varintField(batchFirstSeqField, firstSeq) + varintField(batchAckTickField, ackTick) +
		varintField(batchViewTickField, viewTick)
	for _, in := range inputs {
		size += protowire.SizeTag(batchInputsField) + protowire.SizeBytes(len(in))
	}
	// The runtime writes the envelope's plain fields before its oneof, and
	// a message's fields in number order.
	dst = appendVarintField(dst, clientAckSeqField, ackSeq)
	dst = protowire.AppendTag(dst, clientInputsField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = appendVarintField(dst, batchFirstSeqField, firstSeq)
	dst = appendVarintField(dst, batchAckTickField, ackTick)
	dst = appendVarintField(dst, batchViewTickField, viewTick)
	for _, in := range inputs {
		dst = protowire.AppendTag(dst, batchInputsField, protowire.BytesType)
		dst = protowire.AppendBytes(dst, in)
	}
	return dst
}

// ParseSnapshotFrame reads a frame holding only a ServerMessage.snapshot
// (what AppendSnapshotFrame writes) without allocating: state aliases data.
// ok is false for any other frame, which the caller decodes in full.
func ParseSnapshotFrame(data []byte) (tick, baselineAge, inputAck uint32, state []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(data)
	if n < 0 || num != serverSnapshotField || typ != protowire.BytesType {
		return 0, 0, 0, nil, false
	}
	body, m := protowire.ConsumeBytes(data[n:])
	if m < 0 || n+m != len(data) {
		return 0, 0, 0, nil, false
	}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, 0, 0, nil, false
		}
		body = body[n:]
		switch {
		case typ == protowire.VarintType && num >= snapshotTickField && num <= snapshotAckField:
			v, n := protowire.ConsumeVarint(body)
			if n < 0 {
				return 0, 0, 0, nil, false
			}
			body = body[n:]
			switch num {
			case snapshotTickField:
				tick = uint32(v)
			case snapshotAgeField:
				baselineAge = uint32(v)
			default:
				inputAck = uint32(v)
			}
		case typ == protowire.BytesType && num == snapshotStateField:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return 0, 0, 0, nil, false
			}
			state, body = v, body[n:]
		default:
			return 0, 0, 0, nil, false
		}
	}
	return tick, baselineAge, inputAck, state, true
}

// Field numbers of the room's membership frames.
const (
	serverRequestIDField = 15
	serverJoinedField    = 5
	serverRosterField    = 8
	joinedRoomField      = 1
	joinedPlayerField    = 2
	joinedTickField      = 4
	joinedGameField      = 5
	joinedDescribeField  = 6
	joinedSchemaField    = 7
	rosterPlayersField   = 1
	playerIDField        = 1
	playerNameField      = 2
)

// AppendJoinedFrame appends ServerMessage{request_id, joined: {room,
// player_id, tick, game, describe, schema}} with room and schema already
// encoded (RoomInfo and Schema messages): a room encodes its schema once,
// not once per join.
func AppendJoinedFrame(dst []byte, requestID uint32, room []byte, playerID, tick uint32, game string, describe, schema []byte) []byte {
	bytesField := func(b []byte) int {
		if len(b) == 0 {
			return 0
		}
		return protowire.SizeTag(1) + protowire.SizeBytes(len(b))
	}
	size := protowire.SizeTag(joinedRoomField) + protowire.SizeBytes(len(room)) +
		varintField(joinedPlayerField, playerID) + varintField(joinedTickField, tick) +
		bytesField([]byte(game)) + bytesField(describe) + bytesField(schema)
	appendBytes := func(dst []byte, num protowire.Number, b []byte) []byte {
		if len(b) == 0 {
			return dst
		}
		return protowire.AppendBytes(protowire.AppendTag(dst, num, protowire.BytesType), b)
	}
	dst = appendVarintField(dst, serverRequestIDField, requestID)
	dst = protowire.AppendTag(dst, serverJoinedField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = protowire.AppendTag(dst, joinedRoomField, protowire.BytesType)
	dst = protowire.AppendBytes(dst, room)
	dst = appendVarintField(dst, joinedPlayerField, playerID)
	dst = appendVarintField(dst, joinedTickField, tick)
	dst = appendBytes(dst, joinedGameField, []byte(game))
	dst = appendBytes(dst, joinedDescribeField, describe)
	return appendBytes(dst, joinedSchemaField, schema)
}

// AppendRosterFrame appends ServerMessage{roster: {players}} for the players
// ids[i] named names[i].
func AppendRosterFrame(dst []byte, ids []uint32, names []string) []byte {
	entry := func(i int) int {
		n := varintField(playerIDField, ids[i])
		if names[i] != "" {
			n += protowire.SizeTag(playerNameField) + protowire.SizeBytes(len(names[i]))
		}
		return n
	}
	size := 0
	for i := range ids {
		size += protowire.SizeTag(rosterPlayersField) + protowire.SizeBytes(entry(i))
	}
	dst = protowire.AppendTag(dst, serverRosterField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	for i := range ids {
		dst = protowire.AppendTag(dst, rosterPlayersField, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(entry(i)))
		dst = appendVarintField(dst, playerIDField, ids[i])
		if names[i] != "" {
			dst = protowire.AppendTag(dst, playerNameField, protowire.BytesType)
			dst = protowire.AppendString(dst, names[i])
		}
	}
	return dst
}

package netcode

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arenaserver/arena/proto/arenapb"
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
	batchButtonsField  = 2
	batchAimField      = 3
	batchAckTickField  = 4
	batchViewTickField = 5
)

// ClientDecoder decodes client frames. Input batches, nearly every frame of
// a match, are parsed without allocating once its slices have grown; any
// other frame goes through proto.Unmarshal. Not safe for concurrent use; one
// per connection.
type ClientDecoder struct {
	msg   arenapb.ClientMessage
	in    arenapb.ClientMessage_Inputs
	batch arenapb.InputBatch
	// Backing arrays of batch's slices while a batch fits, so decoding
	// touches the decoder's memory only.
	buttons, aim [8]uint32
}

// Decode parses data. The message is valid until the next Decode. Errors
// are those of DecodeClient.
func (d *ClientDecoder) Decode(data []byte) (*arenapb.ClientMessage, error) {
	if ackSeq, ok := d.parseInputs(data); ok {
		d.in.Inputs = &d.batch
		d.msg = arenapb.ClientMessage{AckSeq: ackSeq, Body: &d.in}
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
	buttons, aim := b.Buttons[:0], b.Aim[:0]
	if buttons == nil {
		buttons, aim = d.buttons[:0], d.aim[:0]
	}
	*b = arenapb.InputBatch{}
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
		case typ == protowire.BytesType && (num == batchButtonsField || num == batchAimField):
			packed, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return 0, false
			}
			body = body[n:]
			for len(packed) > 0 {
				v, n := protowire.ConsumeVarint(packed)
				if n < 0 {
					return 0, false
				}
				packed = packed[n:]
				if num == batchButtonsField {
					buttons = append(buttons, uint32(v))
				} else {
					aim = append(aim, uint32(v))
				}
			}
		default:
			return 0, false
		}
	}
	b.Buttons, b.Aim = buttons, aim
	return ackSeq, true
}

// AppendInputFrame appends the encoding of
// ClientMessage{ack_seq, inputs: {first_seq, buttons, aim, ack_tick,
// view_tick}} to dst, what proto.Marshal writes, without allocating when dst
// has room.
func AppendInputFrame(dst []byte, ackSeq, firstSeq uint32, buttons, aim []uint32, ackTick, viewTick uint32) []byte {
	packedSize := func(vs []uint32) int {
		n := 0
		for _, v := range vs {
			n += protowire.SizeVarint(uint64(v))
		}
		return n
	}
	bs, as := packedSize(buttons), packedSize(aim)
	size := varintField(batchFirstSeqField, firstSeq) + varintField(batchAckTickField, ackTick) +
		varintField(batchViewTickField, viewTick)
	if len(buttons) > 0 {
		size += protowire.SizeTag(batchButtonsField) + protowire.SizeBytes(bs)
	}
	if len(aim) > 0 {
		size += protowire.SizeTag(batchAimField) + protowire.SizeBytes(as)
	}
	// The runtime writes the envelope's plain fields before its oneof.
	dst = appendVarintField(dst, clientAckSeqField, ackSeq)
	dst = protowire.AppendTag(dst, clientInputsField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = appendVarintField(dst, batchFirstSeqField, firstSeq)
	appendPacked := func(dst []byte, num protowire.Number, vs []uint32, size int) []byte {
		if len(vs) == 0 {
			return dst
		}
		dst = protowire.AppendTag(dst, num, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(size))
		for _, v := range vs {
			dst = protowire.AppendVarint(dst, uint64(v))
		}
		return dst
	}
	dst = appendPacked(dst, batchButtonsField, buttons, bs)
	dst = appendPacked(dst, batchAimField, aim, as)
	dst = appendVarintField(dst, batchAckTickField, ackTick)
	return appendVarintField(dst, batchViewTickField, viewTick)
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
	joinedArenaField     = 3
	joinedTickField      = 4
	rosterPlayersField   = 1
	playerIDField        = 1
	playerNameField      = 2
)

// AppendJoinedFrame appends ServerMessage{request_id, joined: {room, player_id,
// arena, tick}} with room and arena already encoded (RoomInfo and Arena
// messages): a room encodes its Arena once, not once per join.
func AppendJoinedFrame(dst []byte, requestID uint32, room []byte, playerID uint32, arena []byte, tick uint32) []byte {
	size := protowire.SizeTag(joinedRoomField) + protowire.SizeBytes(len(room)) +
		varintField(joinedPlayerField, playerID) +
		protowire.SizeTag(joinedArenaField) + protowire.SizeBytes(len(arena)) +
		varintField(joinedTickField, tick)
	dst = appendVarintField(dst, serverRequestIDField, requestID)
	dst = protowire.AppendTag(dst, serverJoinedField, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = protowire.AppendTag(dst, joinedRoomField, protowire.BytesType)
	dst = protowire.AppendBytes(dst, room)
	dst = appendVarintField(dst, joinedPlayerField, playerID)
	dst = protowire.AppendTag(dst, joinedArenaField, protowire.BytesType)
	dst = protowire.AppendBytes(dst, arena)
	return appendVarintField(dst, joinedTickField, tick)
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

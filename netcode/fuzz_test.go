package netcode

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/sim"
)

// FuzzApplyDelta feeds arbitrary bytes to the state decoder against a real
// baseline. It must never panic, and what it builds is bounded by its input.
func FuzzApplyDelta(f *testing.F) {
	states := playedStates(300, 11)
	base := states[250]
	f.Add(AppendDelta(nil, base, states[299]), true)
	f.Add(AppendDelta(nil, nil, states[299]), false)
	f.Add(AppendDelta(nil, base, base), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, useBase bool) {
		var b *sim.State
		if useBase {
			b = base
		}
		var out sim.State
		if err := ApplyDelta(&out, b, 300, data); err != nil {
			return
		}
		require.LessOrEqual(t, len(out.Players), len(base.Players)+len(data))
		require.LessOrEqual(t, len(out.Projectiles), len(base.Projectiles)+len(data))
		// A state that decoded re-encodes to something that decodes to it.
		again := AppendDelta(nil, b, &out)
		var out2 sim.State
		require.NoError(t, ApplyDelta(&out2, b, 300, again))
		require.Equal(t, out.Hash(), out2.Hash())
	})
}

// FuzzDecodeClient feeds arbitrary bytes to the client frame decoder, seeded
// with one valid frame of every kind.
func FuzzDecodeClient(f *testing.F) {
	for _, m := range sampleClientMessages() {
		f.Add(Marshal(m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m arenapb.ClientMessage
		_ = DecodeClient(data, &m)
	})
}

// FuzzDecodeServer does the same for server frames.
func FuzzDecodeServer(f *testing.F) {
	states := playedStates(10, 1)
	f.Add(AppendSnapshotFrame(nil, 10, 0, 3, AppendDelta(nil, nil, states[9])))
	f.Add(ErrorFrame(3, arenapb.ErrorCode_ERROR_CODE_ROOM_FULL, false, "full"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m arenapb.ServerMessage
		_ = DecodeServer(data, &m)
	})
}

func sampleClientMessages() []*arenapb.ClientMessage {
	return []*arenapb.ClientMessage{
		{Body: &arenapb.ClientMessage_Hello{Hello: &arenapb.Hello{ProtocolVersion: ProtocolVersion, Name: "ana"}}},
		{RequestId: 1, Body: &arenapb.ClientMessage_ListRooms{ListRooms: &arenapb.ListRooms{}}},
		{RequestId: 2, Body: &arenapb.ClientMessage_CreateRoom{CreateRoom: &arenapb.CreateRoom{Capacity: 8}}},
		{RequestId: 3, Body: &arenapb.ClientMessage_JoinRoom{JoinRoom: &arenapb.JoinRoom{RoomId: "r1"}}},
		{RequestId: 4, Body: &arenapb.ClientMessage_LeaveRoom{LeaveRoom: &arenapb.LeaveRoom{}}},
		{Body: &arenapb.ClientMessage_Inputs{Inputs: &arenapb.InputBatch{FirstSeq: 9, Buttons: []uint32{1, 17}, Aim: []uint32{0, 500}, AckTick: 40}}},
		{Body: &arenapb.ClientMessage_Ping{Ping: &arenapb.Ping{Time: 12345}}},
	}
}

package netcode

import (
	"testing"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// FuzzDecodeClient feeds arbitrary bytes to the client frame decoder, seeded
// with one valid frame of every kind.
func FuzzDecodeClient(f *testing.F) {
	for _, m := range sampleClientMessages() {
		f.Add(Marshal(m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m sessionpb.ClientMessage
		_ = DecodeClient(data, &m)
	})
}

// FuzzDecodeServer does the same for server frames.
func FuzzDecodeServer(f *testing.F) {
	w := newWorld(1)
	w.step()
	var enc Encoder
	f.Add(AppendSnapshotFrame(nil, 10, 0, 3, enc.Append(nil, nil, nil, w.table(), nil)))
	f.Add(ErrorFrame(3, sessionpb.ErrorCode_ERROR_CODE_ROOM_FULL, false, "full"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m sessionpb.ServerMessage
		_ = DecodeServer(data, &m)
	})
}

func sampleClientMessages() []*sessionpb.ClientMessage {
	return []*sessionpb.ClientMessage{
		{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: ProtocolVersion, Name: "ana"}}},
		{RequestId: 1, Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}},
		{RequestId: 2, Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: 8}}},
		{RequestId: 3, Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: "r1"}}},
		{RequestId: 4, Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}},
		{Body: &sessionpb.ClientMessage_Inputs{Inputs: &sessionpb.InputBatch{FirstSeq: 9, Inputs: [][]byte{{8, 1}, {8, 17, 16, 0xf4, 3}}, AckTick: 40}}},
		{Body: &sessionpb.ClientMessage_Ping{Ping: &sessionpb.Ping{Time: 12345}}},
	}
}

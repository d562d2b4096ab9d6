package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// FuzzSession feeds arbitrary frames, split by the fuzzer, to a session in
// a room after a valid Hello and join: the whole handler (decode, limits,
// inputs, events, acks, requests) must never panic, whatever arrives, and
// what it queues stays within the link's bound.
func FuzzSession(f *testing.F) {
	seeds := []*sessionpb.ClientMessage{
		{Body: &sessionpb.ClientMessage_Inputs{Inputs: withView(withAck(batch(1, []uint32{1, 8}, []uint32{0, 1023}), 5), 3)}},
		{Body: &sessionpb.ClientMessage_Inputs{Inputs: batch(1<<32-2, []uint32{0xff, 1, 1}, []uint32{4000, 0, 0})}},
		{RequestId: 3, Seq: 1, Body: &sessionpb.ClientMessage_Event{Event: &sessionpb.Event{Name: "chat", Payload: []byte("hi")}}},
		{RequestId: 4, Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: 1 << 31}}},
		{RequestId: 5, Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}},
		{RequestId: 6, Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: "nope", Spectate: true}}},
		{AckSeq: 1 << 30, Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}},
		{Body: &sessionpb.ClientMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{Time: 1 << 63}}},
		{Body: &sessionpb.ClientMessage_EventAck{EventAck: &sessionpb.EventAck{AckId: 9, Error: "x"}}},
		{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion}}},
		{Body: &sessionpb.ClientMessage_Bye{Bye: &sessionpb.Bye{}}},
	}
	for _, m := range seeds {
		f.Add(netcode.Marshal(m), uint8(0))
	}
	f.Add([]byte{0x0f, 0xff}, uint8(1))
	// Every run is a session from the same address, held when the run
	// ends: lift the per-address budget, and let held sessions go soon so
	// that they do not pile up.
	gw, lob := newTestGateway(f, Config{Hold: time.Second, Limits: Limits{MaxSessionsPerIP: -1}})
	f.Cleanup(func() {
		_ = gw.Close(context.Background())
		_ = lob.Close(context.Background(), nil)
	})
	r, err := lob.Create("", 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		p := &pipe{t: t, c: gw.newConn("test", "fuzz")}
		defer p.c.Closed(nil)
		if p.send(hello("fuzz")) != nil {
			t.Fatal("hello refused")
		}
		_ = p.send(&sessionpb.ClientMessage{RequestId: 2, Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: r.ID()}}})
		// The data as one frame, then split in two at cut.
		frames := [][]byte{data}
		if k := int(cut); k > 0 && k < len(data) {
			frames = append(frames, data[:k], data[k:])
		}
		var b outbox.Batch
		for _, fr := range frames {
			if p.c.Frame(fr) != nil {
				break
			}
			p.c.link.Take(&b)
			if len(b.Frames) > outbox.DefaultLinkLimit+outbox.DefaultReliableLimit+1 {
				t.Fatalf("%d frames queued at once", len(b.Frames))
			}
		}
	})
}

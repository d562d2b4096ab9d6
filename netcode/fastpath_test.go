package netcode

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/proto/sessionpb"
)

func randomBatch(rng *rand.Rand) *sessionpb.ClientMessage {
	pick := func() uint32 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.MaxUint32
		}
		return rng.Uint32N(2000)
	}
	n := rng.IntN(5)
	b := &sessionpb.InputBatch{FirstSeq: pick(), AckTick: pick(), ViewTick: pick()}
	for range n {
		in := make([]byte, rng.IntN(6))
		for i := range in {
			in[i] = byte(rng.IntN(256))
		}
		b.Inputs = append(b.Inputs, in)
	}
	return &sessionpb.ClientMessage{AckSeq: pick(), Body: &sessionpb.ClientMessage_Inputs{Inputs: b}}
}

func TestInputFrameMatchesProto(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var d ClientDecoder
	for range 5000 {
		m := randomBatch(rng)
		want, err := proto.Marshal(m)
		require.NoError(t, err)
		b := m.GetInputs()
		got := AppendInputFrame(nil, m.AckSeq, b.FirstSeq, b.Inputs, b.AckTick, b.ViewTick)
		require.Equal(t, want, got)

		dm, err := d.Decode(got)
		require.NoError(t, err)
		require.True(t, proto.Equal(m, dm), "decoded %v, want %v", dm, m)
	}
}

func TestClientDecoderFallsBack(t *testing.T) {
	var d ClientDecoder
	for _, m := range sampleClientMessages() {
		got, err := d.Decode(Marshal(m))
		require.NoError(t, err)
		assert.True(t, proto.Equal(m, got))
	}
	// A reliable frame (seq set) with inputs goes through the runtime too.
	m := &sessionpb.ClientMessage{Seq: 3, Body: &sessionpb.ClientMessage_Inputs{Inputs: &sessionpb.InputBatch{FirstSeq: 1}}}
	got, err := d.Decode(Marshal(m))
	require.NoError(t, err)
	assert.True(t, proto.Equal(m, got))
	_, err = d.Decode([]byte{0x32, 0x05, 0x08})
	assert.ErrorIs(t, err, ErrMalformedFrame)
}

func TestParseSnapshotFrame(t *testing.T) {
	frame := AppendSnapshotFrame(nil, 1234, 2, 77, []byte{9, 8, 7})
	tick, age, ack, state, ok := ParseSnapshotFrame(frame)
	require.True(t, ok)
	assert.Equal(t, []uint32{1234, 2, 77}, []uint32{tick, age, ack})
	assert.Equal(t, []byte{9, 8, 7}, state)
	_, _, _, _, ok = ParseSnapshotFrame(ErrorFrame(0, sessionpb.ErrorCode_ERROR_CODE_INTERNAL, true, "x"))
	assert.False(t, ok)
	withSeq := append(AppendSnapshotFrame(nil, 1, 0, 0, nil), 0xa0, 0x01, 0x05) // seq 5 after the body
	_, _, _, _, ok = ParseSnapshotFrame(withSeq)
	assert.False(t, ok, "a frame with more than the snapshot goes to the runtime")
}

// FuzzFastPaths checks that whatever the fast paths accept, the protobuf
// runtime decodes to the same values.
func FuzzFastPaths(f *testing.F) {
	f.Add(AppendInputFrame(nil, 3, 10, [][]byte{{8, 1}, {16, 2, 0x80, 1}, {}}, 40, 38))
	f.Add(AppendSnapshotFrame(nil, 10, 2, 3, []byte{1, 2}))
	f.Add([]byte{0x32, 0x02, 0x10, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ClientDecoder
		if ackSeq, ok := d.parseInputs(data); ok {
			d.in.Inputs = &d.batch
			fast := &sessionpb.ClientMessage{AckSeq: ackSeq, Body: &d.in}
			var slow sessionpb.ClientMessage
			require.NoError(t, proto.Unmarshal(data, &slow))
			require.True(t, proto.Equal(&slow, fast), "fast %v slow %v", fast, &slow)
		}
		if tick, age, ack, state, ok := ParseSnapshotFrame(data); ok {
			var slow sessionpb.ServerMessage
			require.NoError(t, proto.Unmarshal(data, &slow))
			s := slow.GetSnapshot()
			require.NotNil(t, s)
			require.Equal(t, []uint32{s.Tick, s.BaselineAge, s.InputAck}, []uint32{tick, age, ack})
			require.Equal(t, len(s.State), len(state))
		}
	})
}

func BenchmarkDecodeInputFrame(b *testing.B) {
	frame := AppendInputFrame(nil, 5, 1000, [][]byte{{8, 1, 16, 10}, {8, 9, 16, 20}, {8, 17, 16, 30}}, 5000, 4990)
	b.Run("fast", func(b *testing.B) {
		var d ClientDecoder
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto", func(b *testing.B) {
		var m sessionpb.ClientMessage
		b.ReportAllocs()
		for b.Loop() {
			if err := DecodeClient(frame, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestMembershipFramesMatchProto(t *testing.T) {
	schema := SchemaProto(testSchema)
	room := &sessionpb.RoomInfo{Id: "r1", Players: 3, Capacity: 16, Tick: 99, Game: "test"}
	for _, tc := range []struct {
		rid, player, tick uint32
		game              string
		describe          []byte
	}{{0, 0, 0, "", nil}, {7, 3, 1234, "test", []byte{1, 2, 3}}} {
		frame := AppendJoinedFrame(nil, tc.rid, Marshal(room), tc.player, tc.tick, tc.game, tc.describe, Marshal(schema))
		var got sessionpb.ServerMessage
		require.NoError(t, proto.Unmarshal(frame, &got))
		want := &sessionpb.ServerMessage{RequestId: tc.rid, Body: &sessionpb.ServerMessage_Joined{Joined: &sessionpb.Joined{
			Room: room, PlayerId: tc.player, Tick: tc.tick, Game: tc.game, Describe: tc.describe, Schema: schema}}}
		assert.True(t, proto.Equal(want, &got))
		back, err := SchemaFromProto(got.GetJoined().GetSchema())
		require.NoError(t, err)
		assert.True(t, back.Equal(testSchema))
	}
	_ = game.MaxInputSize
	ids, names := []uint32{1, 2, 300}, []string{"ana", "", "bö"}
	var got sessionpb.ServerMessage
	require.NoError(t, proto.Unmarshal(AppendRosterFrame(nil, ids, names), &got))
	want := &sessionpb.Roster{Players: []*sessionpb.PlayerInfo{{Id: 1, Name: "ana"}, {Id: 2}, {Id: 300, Name: "bö"}}}
	assert.True(t, proto.Equal(want, got.GetRoster()))
	require.NoError(t, proto.Unmarshal(AppendRosterFrame(nil, nil, nil), &got))
	assert.NotNil(t, got.GetRoster(), "an empty roster is still a roster")
}

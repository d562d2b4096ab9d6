package canvas_test

// Measurements of what a canvas room costs on the wire, with the engine's
// own codec (netcode.Encoder) and session envelope (sessionpb.Snapshot):
//
//	go test -v -run 'Wire|LateJoiner' ./games/canvas/
//
// They print their figures and assert bounds, so a change of the schema or
// the codec that makes the canvas dearer fails here.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
	"github.com/arenaserver/arena/games/canvas"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

const (
	tickRate     = 60
	snapshotRate = 30
	members      = 64
)

// alternative is the canvas schema with the cells' Immutable flag
// flipped: the choice the schema did not make, measured side by side.
var alternative = func() *game.Schema {
	s := &game.Schema{Kinds: append([]game.Kind(nil), canvas.Schema.Kinds...)}
	s.Kinds[canvas.KindCell].Immutable = !s.Kinds[canvas.KindCell].Immutable
	return s
}()

// as copies t into dst under schema s (the same kinds and fields).
func as(dst *game.Table, s *game.Schema, t *game.Table) *game.Table {
	dst.Reset(s)
	dst.Tick = t.Tick
	for k := range s.Kinds {
		ids, vals := t.Rows(k)
		w := len(s.Kinds[k].Fields)
		for i, id := range ids {
			copy(dst.Add(k, id), vals[i*w:(i+1)*w])
		}
	}
	return dst
}

// frameSize is the size on the wire of a snapshot carrying state: the
// ServerMessage (as the room marshals it) in a WebSocket frame from the
// server (2 header bytes up to 125 bytes, 4 up to 64 KiB, 10 beyond).
func frameSize(tick, ack uint32, state []byte) int {
	n := proto.Size(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Snapshot{Snapshot: &sessionpb.Snapshot{
		Tick: tick, BaselineAge: tickRate / snapshotRate, InputAck: ack, State: state}}})
	switch {
	case n <= 125:
		return n + 2
	case n < 1<<16:
		return n + 4
	}
	return n + 10
}

// stream accumulates the snapshots one member receives when it has
// acknowledged each previous one: a delta against it, every snapshot.
type stream struct {
	enc         netcode.Encoder
	prev, cur   *game.Table
	buf         []byte
	state, wire int
	snapshots   int
}

func newStream(s *game.Schema) *stream {
	return &stream{prev: game.NewTable(s), cur: game.NewTable(s)}
}

func (st *stream) add(t *game.Table, ack uint32) {
	as(st.cur, st.cur.Schema, t)
	base := st.prev
	if st.snapshots == 0 {
		base = nil // the join: a full snapshot
	}
	st.buf = st.enc.Append(st.buf[:0], base, nil, st.cur, nil)
	if st.snapshots > 0 { // the steady state: deltas only
		st.state += len(st.buf)
		st.wire += frameSize(t.Tick, ack, st.buf)
	}
	st.snapshots++
	st.prev, st.cur = st.cur, st.prev
}

func (st *stream) perSecond() (state, wire float64) {
	secs := float64(st.snapshots-1) / snapshotRate
	return float64(st.state) / secs, float64(st.wire) / secs
}

// TestWireBusiest measures (a): 64 members, every one painting at the
// highest rate the cooldown allows while its cursor moves every tick (a
// mouse that never rests), snapshots at 30 per second: on an empty board
// that fills up, and on a full board where every paint is a repaint.
func TestWireBusiest(t *testing.T) {
	for _, prefilled := range []bool{false, true} {
		mutable, immutable, paints := busiest(t, prefilled, 20)
		state, wire := mutable.perSecond()
		istate, iwire := immutable.perSecond()
		board := "an empty board filling up"
		if prefilled {
			board = "a full board (repaints only)"
		}
		t.Logf("64 members on %s, each painting %.1f cells/s (every 6 ticks at %d Hz), cursors moving every tick, %d snapshots/s, each member acking the previous one:",
			board, float64(paints)/20/members, tickRate, snapshotRate)
		t.Logf("  bytes per member per second: state %.0f B/s; on the wire (Snapshot in a WebSocket frame) %.0f B/s = %.1f KB/s, %.0f B per snapshot",
			state, wire, wire/1000, wire/snapshotRate)
		t.Logf("  with cells Immutable=%v instead: state %.0f B/s, wire %.0f B/s (%+.1f%%)", alternative.Kinds[canvas.KindCell].Immutable, istate, iwire, 100*(iwire-wire)/wire)
		assert.Equal(t, 20*tickRate/6*members, paints, "every member paints every 6 ticks")
		assert.Less(t, wire, 10000.0, "bytes per member per second")
		assert.Greater(t, wire, 4000.0, "the measurement moves cursors and paints")
	}
}

// busiest plays the busiest room for seconds and returns the snapshot
// streams under the canvas's schema and under its alternative.
func busiest(t *testing.T, prefilled bool, seconds int) (chosen, other *stream, paints int) {
	h, err := gametest.New(canvas.Def, game.Config{TickRate: tickRate, Capacity: members, Seed: 1})
	require.NoError(t, err)
	type mover struct {
		x, y, vx, vy int
		next         uint32 // the tick it may paint again (the reply to "paint")
	}
	cursors := make([]mover, members)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range cursors {
		require.NoError(t, h.Join(game.PlayerID(i+1), fmt.Sprintf("p%d", i+1)))
		cursors[i] = mover{x: rng.IntN(64 * canvas.Scale), y: rng.IntN(48 * canvas.Scale)}
	}
	if prefilled {
		fill(t, h, 1)
	}
	chosen, other = newStream(canvas.Schema), newStream(alternative)
	var seq uint32
	for tick := 1; tick <= seconds*tickRate; tick++ {
		for i := range cursors {
			c, p := &cursors[i], game.PlayerID(i+1)
			if tick%30 == 1 { // a new heading every half second: up to 15 cells a second
				c.vx, c.vy = rng.IntN(9)-4, rng.IntN(9)-4
			}
			c.x, c.y = max(0, min(64*canvas.Scale-1, c.x+c.vx)), max(0, min(48*canvas.Scale-1, c.y+c.vy))
			require.NoError(t, h.Input(p, canvas.AppendInput(nil, uint16(c.x), uint16(c.y), uint8(i%canvas.Colours))))
			// Paint under the cursor whenever the cooldown allows.
			if c.next <= h.Ctx.Tick() {
				reply, err := h.Event(p, canvas.EventPaint, canvas.AppendPaint(nil, c.x/canvas.Scale, c.y/canvas.Scale, uint8(rng.IntN(canvas.Colours))))
				require.NoError(t, err)
				c.next = binary.BigEndian.Uint32(reply)
				paints++
			}
		}
		seq++
		h.Step()
		if tick%(tickRate/snapshotRate) == 0 {
			st := h.State()
			chosen.add(st, seq)
			other.add(st, seq)
		}
	}
	return chosen, other, paints
}

// fill paints a fraction of the 64×48 board in random colours, as a
// player who joins for it and leaves.
func fill(t *testing.T, h *gametest.Harness, frac float64) {
	t.Helper()
	const filler = 999
	require.NoError(t, h.Join(filler, "filler"))
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range rng.Perm(64 * 48)[:int(frac*64*48)] {
		for {
			_, err := h.Event(filler, canvas.EventPaint, canvas.AppendPaint(nil, c%64, c/64, uint8(rng.IntN(canvas.Colours))))
			if err == nil {
				break
			}
			require.ErrorIs(t, err, canvas.ErrTooFast)
			h.Step()
		}
	}
	h.Leave(filler)
	h.Step()
}

// TestWireIdleRoom: 64 members who do nothing cost only the empty deltas.
func TestWireIdleRoom(t *testing.T) {
	h, err := gametest.New(canvas.Def, game.Config{TickRate: tickRate, Capacity: members, Seed: 1})
	require.NoError(t, err)
	for i := range members {
		require.NoError(t, h.Join(game.PlayerID(i+1), "idle"))
	}
	st := newStream(canvas.Schema)
	for tick := 1; tick <= 2*tickRate; tick++ {
		h.Step()
		if tick%2 == 0 {
			st.add(h.State(), 0)
		}
	}
	state, wire := st.perSecond()
	t.Logf("64 idle members: state %.0f B/s, wire %.0f B/s per member (%d B per snapshot)", state, wire, st.wire/(st.snapshots-1))
	assert.Equal(t, 4*float64(snapshotRate), state, "per kind: an empty header and no adds")
}

// TestWireBots measures 64 bots (the brain: shapes at a person's rate).
func TestWireBots(t *testing.T) {
	h, err := gametest.New(canvas.Def, game.Config{TickRate: tickRate, Capacity: members, Seed: 1})
	require.NoError(t, err)
	cl, err := canvas.NewClient(h.Match.Describe())
	require.NoError(t, err)
	brains := make([]game.Brain, members)
	for i := range brains {
		require.NoError(t, h.Join(game.PlayerID(i+1), "bot"))
		brains[i] = canvas.Def.Brain(uint64(i))
	}
	st := newStream(canvas.Schema)
	var m game.Move
	inputs, events := 0, 0
	const seconds = 20
	for tick := 1; tick <= seconds*tickRate; tick++ {
		s := &game.Scene{Game: "canvas", Describe: h.Match.Describe(), Client: cl, Ready: true, Newest: h.State()}
		for i, b := range brains {
			s.Self = game.PlayerID(i + 1)
			m.Reset()
			b.Act(s, &m)
			if len(m.Input) > 0 {
				inputs++
				require.NoError(t, h.Input(s.Self, m.Input))
			}
			for _, e := range m.Events {
				events++
				_, err := h.Event(s.Self, e.Name, e.Payload)
				require.NoError(t, err)
			}
		}
		h.Step()
		if tick%2 == 0 {
			st.add(h.State(), 0)
		}
	}
	state, wire := st.perSecond()
	t.Logf("64 bots: %.1f inputs and %.1f events per bot per second upstream; down: state %.0f B/s, wire %.0f B/s per member",
		float64(inputs)/seconds/members, float64(events)/seconds/members, state, wire)
	assert.Less(t, wire, 12000.0)
}

// TestLateJoinerDownload measures (b): the full snapshot a member gets on
// joining, for an empty, a quarter-painted and a fully painted 64×48
// board, alone and with 63 others' cursors, in random colours (the worst
// case: no two neighbours alike does not matter to this codec, the colour
// is one byte either way).
func TestLateJoinerDownload(t *testing.T) {
	for _, n := range []int{1, members} {
		for _, f := range []struct {
			name string
			frac float64
		}{{"empty", 0}, {"quarter", 0.25}, {"full", 1}} {
			h, err := gametest.New(canvas.Def, game.Config{TickRate: tickRate, Capacity: members, Seed: 1, Params: map[string]string{"cooldown": "0"}})
			require.NoError(t, err)
			for i := range n {
				require.NoError(t, h.Join(game.PlayerID(i+1), "p"))
			}
			fill(t, h, f.frac)
			st := h.State()
			var enc netcode.Encoder
			full := enc.Append(nil, nil, nil, st, nil)
			im := enc.Append(nil, nil, nil, as(game.NewTable(alternative), alternative, st), nil)
			wire := frameSize(st.Tick, 0, full)
			t.Logf("late joiner, %2d cursors, %-7s board (%4d cells): state %5d B, wire %5d B (%.2f B per painted cell); cells Immutable=%v: %5d B",
				n, f.name, st.Len(canvas.KindCell), len(full), wire, float64(len(full)-cursorBytes(t, st))/max(1, float64(st.Len(canvas.KindCell))), alternative.Kinds[canvas.KindCell].Immutable, len(im))
			assert.LessOrEqual(t, len(full), 3*st.Len(canvas.KindCell)+12*n+16, "at most 3 bytes a cell and 12 a cursor")
			var dec netcode.Decoder
			back := game.NewTable(canvas.Schema)
			require.NoError(t, dec.Decode(back, nil, canvas.Schema, st.Tick, full))
			require.True(t, back.Equal(st), "the board decodes back")
		}
	}
}

// cursorBytes is what the cursors alone take in a full snapshot.
func cursorBytes(t *testing.T, st *game.Table) int {
	t.Helper()
	only := game.NewTable(canvas.Schema)
	ids, vals := st.Rows(canvas.KindCursor)
	w := len(canvas.Schema.Kinds[canvas.KindCursor].Fields)
	for i, id := range ids {
		copy(only.Add(canvas.KindCursor, id), vals[i*w:(i+1)*w])
	}
	var enc netcode.Encoder
	return len(enc.Append(nil, nil, nil, only, nil))
}

// BenchmarkSnapshot is a busy 64-member canvas's work per snapshot (two
// ticks at 60 Hz, 30 snapshots/s): every cursor moves, about 11 cells are
// painted, and the room replicates into a reused table and encodes the
// delta once (all members share a baseline). It allocates nothing per
// snapshot but the paint replies.
func BenchmarkSnapshot(b *testing.B) {
	h, err := gametest.New(canvas.Def, game.Config{TickRate: tickRate, Capacity: members, Seed: 1, Params: map[string]string{"cooldown": "0"}})
	require.NoError(b, err)
	for i := range members {
		require.NoError(b, h.Join(game.PlayerID(i+1), "p"))
	}
	rng := rand.New(rand.NewPCG(3, 3))
	paints := make([][]byte, 4096)
	for i := range paints {
		paints[i] = canvas.AppendPaint(nil, rng.IntN(64), rng.IntN(48), uint8(rng.IntN(canvas.Colours)))
	}
	for _, p := range paints[:1500] { // about half the board
		_, _ = h.Event(1, canvas.EventPaint, p)
	}
	in := make([][]byte, 256)
	for i := range in {
		in[i] = canvas.AppendInput(nil, uint16(rng.IntN(64*canvas.Scale)), uint16(rng.IntN(48*canvas.Scale)), 3)
	}
	prev, cur := game.NewTable(canvas.Schema), game.NewTable(canvas.Schema)
	h.Match.Replicate(prev)
	var enc netcode.Encoder
	var buf []byte
	size := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for tick := range 2 {
			for p := range members {
				h.Match.Input(h.Ctx, game.PlayerID(p+1), game.Input{Data: in[(i*2+tick+p)%len(in)]})
			}
			for j := range 5 + tick {
				_, _ = h.Match.Event(h.Ctx, game.PlayerID(j+1), canvas.EventPaint, paints[(i*11+tick*5+j)%len(paints)])
			}
			h.Ctx.Advance()
			h.Match.Step(h.Ctx)
		}
		cur.Reset(nil)
		h.Match.Replicate(cur)
		buf = enc.Append(buf[:0], prev, nil, cur, nil)
		size += len(buf)
		prev, cur = cur, prev
	}
	b.ReportMetric(float64(size)/float64(b.N), "B/snapshot")
}

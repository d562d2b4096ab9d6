package swarm

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// The bots' send loops are tested here without a server: the server's
// registry hosts only the games its main names, and a test game must not
// be one of them. A fake connection records what a bot sends, tick by tick,
// so the tests are exact: no clock, no network.

// painter is a tiny game without TickInputs (a shared canvas, say): its
// players send an input only now and then, and events.
var painterSchema = &game.Schema{Kinds: []game.Kind{
	{Name: "cell", Fields: []game.Field{{Name: "color", Max: 15}}},
}}

var painter = &game.Def{
	Name:   "painter",
	Schema: painterSchema,
	Events: []string{"paint"},
	Brain:  func(seed uint64) game.Brain { return &painterBrain{} },
}

// painterBrain emits a "paint" event every 5th tick and makes an input
// every 7th; it remembers what it saw.
type painterBrain struct {
	acts   int
	ready  []bool
	newest []uint32 // the newest snapshot's tick at each act (0: none)
}

func (p *painterBrain) Act(s *game.Scene, m *game.Move) {
	p.acts++
	p.ready = append(p.ready, s.Ready)
	tick := uint32(0)
	if s.Newest != nil {
		tick = s.Newest.Tick
	}
	p.newest = append(p.newest, tick)
	if p.acts%5 == 0 {
		m.Emit("paint", []byte{byte(p.acts)})
	}
	if p.acts%7 == 0 {
		m.Input = append(m.Input, byte(p.acts))
	}
}

// fakeConn is a rich bot's connection: it numbers inputs and records what
// the bot sends, and checks that every acknowledgement acknowledges a
// snapshot not acknowledged yet (cur is the newest snapshot's tick).
type fakeConn struct {
	t       *testing.T
	cur     uint32
	acked   uint32
	inputs  [][]byte
	views   []uint32
	acks    int // bare acknowledgements (Ack)
	carried int // input batches that acknowledged a new snapshot
	events  []game.Emit
	perStep []int // frames sent at each step
}

func (f *fakeConn) SendInput(input []byte, viewTick uint32) (uint32, error) {
	f.inputs = append(f.inputs, append([]byte(nil), input...))
	f.views = append(f.views, viewTick)
	if f.cur > f.acked {
		f.carried++
	}
	f.acked = f.cur
	f.perStep[len(f.perStep)-1]++
	return uint32(len(f.inputs)), nil
}

func (f *fakeConn) Ack() error {
	assert.Greater(f.t, f.cur, f.acked, "an Ack without a new snapshot")
	f.acked = f.cur
	f.acks++
	f.perStep[len(f.perStep)-1]++
	return nil
}

func (f *fakeConn) Emit(name string, payload []byte) error {
	f.events = append(f.events, game.Emit{Name: name, Payload: append([]byte(nil), payload...)})
	return nil
}

func joinedFor(def *game.Def, player uint32, describe []byte) *sessionpb.Joined {
	return &sessionpb.Joined{Game: def.Name, PlayerId: player, Describe: describe, Schema: netcode.SchemaProto(def.Schema)}
}

// TestBotOfAGameWithoutTickInputsSendsOnlyItsMoves: a bot of a game
// without TickInputs sends an input only when its brain made one, and
// otherwise acknowledges each new snapshot once; its events go out as
// events. A TickInputs game's bot sends an input every tick.
func TestBotOfAGameWithoutTickInputsSendsOnlyItsMoves(t *testing.T) {
	b := newBot(0, painter, 1, false)
	f := &fakeConn{t: t}
	require.NoError(t, b.joined(joinedFor(painter, 1, nil), f))
	table := game.NewTable(painterSchema)
	table.Add(0, 1)[0] = 3
	const steps = 70
	for n := uint32(1); n <= steps; n++ {
		if n%2 == 0 && n > 10 { // snapshots every other tick, from tick 12 on
			table.Tick = n
			f.cur = n
			b.onSnapshot(&client.Snapshot{Tick: n, State: table})
		}
		f.perStep = append(f.perStep, 0)
		require.NoError(t, b.step())
	}
	brain := b.brain.(*painterBrain)
	assert.Equal(t, steps, brain.acts, "the brain acts every tick")
	assert.Len(t, f.inputs, steps/7, "an input only when the brain made one")
	for i, in := range f.inputs {
		assert.Equal(t, []byte{byte(7 * (i + 1))}, in)
	}
	assert.Len(t, f.events, steps/5)
	assert.Equal(t, game.Emit{Name: "paint", Payload: []byte{5}}, f.events[0])
	// Every snapshot is acknowledged once, by the input batch of its tick
	// or else by an Ack; a tick with nothing new sends nothing.
	assert.Equal(t, uint32(steps), f.acked)
	assert.Equal(t, 30, f.acks+f.carried, "30 snapshots, acknowledged once each")
	assert.Equal(t, 25, f.acks, "snapshots at a tick without an input")
	for n, frames := range f.perStep {
		want := 0
		if n+1 >= 12 && (n+1)%2 == 0 || (n+1)%7 == 0 {
			want = 1
		}
		assert.Equal(t, want, frames, "step %d", n+1)
	}
	// The brain saw no state until the first snapshot, then the newest.
	assert.False(t, brain.ready[10])
	assert.True(t, brain.ready[11])
	assert.Equal(t, uint32(12), brain.newest[11])
	assert.Equal(t, uint32(steps), brain.newest[steps-1])
	assert.Equal(t, uint32(56), f.views[7], "an input's view tick is the newest snapshot's")
}

// TestBotOfATickInputsGameSendsEveryTick: the arena's bot sends an input
// at every tick, with the newest snapshot's tick as its view tick, and
// never a bare acknowledgement.
func TestBotOfATickInputsGameSendsEveryTick(t *testing.T) {
	r := newFakeRoom(t, 1, 0)
	for range 120 {
		r.tick()
	}
	assert.Len(t, r.inputs, 120)
	assert.Zero(t, r.acks)
	last := r.b.newest.Tick
	assert.Equal(t, last, r.views[len(r.views)-1])
}

// fakeRoom serves one arena bot from a gametest match, as a room would:
// the bot's inputs arrive after a delay of ticks and are applied one a tick
// in order (a tick with none stands the player still), and a snapshot
// every other tick reaches the bot after the same delay. A second player
// stands as a target.
type fakeRoom struct {
	t       *testing.T
	b       *bot
	h       *gametest.Harness
	now     int
	latency int                  // ticks a snapshot takes to arrive
	delay   func(seq uint32) int // ticks an input takes to arrive
	tamper  map[uint32]bool      // inputs the room replaces by another
	drop    map[uint32]bool      // inputs the room drops (its queue overflowed)
	inputs  [][]byte
	views   []uint32
	arrive  []int // by seq-1: the tick the input arrives
	acks    int
	events  int

	applied uint32
	inbox   []inFlight
}

type inFlight struct {
	at    int
	state *game.Table
	ack   uint32
}

func newFakeRoom(t *testing.T, seed uint64, latency int) *fakeRoom {
	h, err := gametest.New(arena.Def, game.Config{TickRate: 60, Capacity: 4, Seed: seed})
	require.NoError(t, err)
	require.NoError(t, h.Join(1, "bot"))
	require.NoError(t, h.Join(2, "target"))
	r := &fakeRoom{t: t, h: h, latency: latency, delay: func(uint32) int { return latency }, tamper: map[uint32]bool{}, drop: map[uint32]bool{}}
	r.b = newBot(0, arena.Def, seed, false)
	require.NoError(t, r.b.joined(joinedFor(arena.Def, 1, h.Match.Describe()), r))
	require.NotNil(t, r.b.pred, "the arena bot checks its predictions")
	return r
}

func (r *fakeRoom) SendInput(input []byte, viewTick uint32) (uint32, error) {
	r.inputs = append(r.inputs, append([]byte(nil), input...))
	r.views = append(r.views, viewTick)
	seq := uint32(len(r.inputs))
	at := r.now + r.delay(seq)
	if n := len(r.arrive); n > 0 {
		at = max(at, r.arrive[n-1]) // a stream: in order
	}
	r.arrive = append(r.arrive, at)
	return seq, nil
}

func (r *fakeRoom) Ack() error                { r.acks++; return nil }
func (r *fakeRoom) Emit(string, []byte) error { r.events++; return nil }

func (r *fakeRoom) report() (checks, misses, interactions uint64) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.b.checks, r.b.misses, r.b.interactions
}

// tick runs one room tick, delivers what is due, and one bot step.
func (r *fakeRoom) tick() {
	r.now++
	for r.drop[r.applied+1] && int(r.applied+1) <= len(r.arrive) && r.arrive[r.applied] <= r.now {
		r.applied++ // dropped: its number is passed over
	}
	if next := r.applied + 1; int(next) <= len(r.arrive) && r.arrive[next-1] <= r.now {
		in := r.inputs[next-1]
		if r.tamper[next] {
			in = arena.AppendInput(nil, sim.ButtonLeft, 0)
		}
		require.NoError(r.t, r.h.Input(1, in))
		r.applied = next
	}
	r.h.Step()
	if r.now%2 == 0 {
		state := game.NewTable(arena.Schema)
		state.CopyFrom(r.h.State())
		r.inbox = append(r.inbox, inFlight{at: r.now + r.latency, state: state, ack: r.applied})
	}
	for len(r.inbox) > 0 && r.inbox[0].at <= r.now {
		d := r.inbox[0]
		r.inbox = r.inbox[1:]
		r.b.onSnapshot(&client.Snapshot{Tick: d.state.Tick, InputAck: d.ack, State: d.state})
	}
	require.NoError(r.t, r.b.step())
}

// TestPredictionsAgreeWithTheServer: the bot predicts its player with the
// arena's Client, from the newest snapshot and its pending inputs, and the
// server's state agrees at every acknowledged input, over a link of 6 ticks
// each way, the bot firing now and then.
func TestPredictionsAgreeWithTheServer(t *testing.T) {
	r := newFakeRoom(t, 3, 6)
	for range 1200 {
		r.tick()
	}
	checks, misses, interactions := r.report()
	t.Logf("checks %d misses %d interactions %d", checks, misses, interactions)
	assert.Greater(t, checks, uint64(400), "a check for each snapshot that acknowledges a new input")
	assert.Zero(t, misses)
	fired := 0
	for _, in := range r.inputs {
		if b, _, err := arena.DecodeInput(in); err == nil && b&sim.ButtonFire != 0 {
			fired++
		}
	}
	assert.Positive(t, fired, "the bot fires")
}

// TestLateInputsAreNotCorrections: inputs arrive late now and then (the
// player stands still a tick and the late input is applied later, in
// order). Moves and aim still agree; a fire cooldown that a late input
// moved (the arena does not mark it Predicted) makes the comparison an
// interaction, not a miss.
func TestLateInputsAreNotCorrections(t *testing.T) {
	r := newFakeRoom(t, 4, 6)
	rng := rand.New(rand.NewPCG(9, 9))
	r.delay = func(seq uint32) int {
		if rng.IntN(8) == 0 {
			return 6 + 1 + rng.IntN(3)
		}
		return 6
	}
	for range 1800 {
		r.tick()
	}
	checks, misses, interactions := r.report()
	t.Logf("checks %d misses %d interactions %d", checks, misses, interactions)
	assert.Greater(t, checks, uint64(300))
	assert.Positive(t, interactions, "fire cooldowns moved by late inputs")
	assert.Zero(t, misses)
}

// TestADroppedInputIsAMiss: the room drops an input (its queue overflowed
// after a stall): the player is not where the bot predicted, whatever the
// schedule.
func TestADroppedInputIsAMiss(t *testing.T) {
	r := newFakeRoom(t, 6, 3)
	for seq := uint32(200); seq <= 800; seq += 100 {
		r.drop[seq] = true
	}
	for range 900 {
		r.tick()
	}
	checks, misses, _ := r.report()
	assert.Greater(t, checks, uint64(300))
	assert.Positive(t, misses)
}

// TestAMispredictionIsCounted: the server applies another input than the
// bot sent; the bot's check notices.
func TestAMispredictionIsCounted(t *testing.T) {
	r := newFakeRoom(t, 5, 3)
	for seq := uint32(200); seq <= 800; seq += 100 {
		r.tamper[seq] = true
	}
	for range 900 {
		r.tick()
	}
	checks, misses, _ := r.report()
	assert.Greater(t, checks, uint64(300))
	assert.Positive(t, misses)
}

// fakeSocket records the frames a lean bot writes.
type fakeSocket struct{ frames [][]byte }

func (f *fakeSocket) WriteMessage(_ gws.Opcode, p []byte) error {
	f.frames = append(f.frames, append([]byte(nil), p...))
	return nil
}

func (f *fakeSocket) SetWriteDeadline(time.Time) error { return nil }

// TestLeanBotOfAGameWithoutTickInputsSendsOnlyItsMoves: the same for a
// cheap bot on a bare WebSocket: its brain sees no state, and it writes an
// input frame only when the brain made an input, an acknowledgement only
// for a new snapshot, and its events as reliable event frames.
func TestLeanBotOfAGameWithoutTickInputsSendsOnlyItsMoves(t *testing.T) {
	b := newBot(0, painter, 1, true)
	ws := &fakeSocket{}
	c := &leanConn{b: b, w: ws, done: make(chan struct{})}
	b.lean = c
	require.NoError(t, b.joined(joinedFor(painter, 1, nil), nil))
	const steps = 70
	perStep := make([]int, steps)
	for n := uint32(1); n <= steps; n++ {
		if n%2 == 0 {
			frame := netcode.AppendSnapshotFrame(nil, n, 0, 0, []byte{0})
			c.OnMessage(nil, &gws.Message{Opcode: gws.OpcodeBinary, Data: bytes.NewBuffer(frame)})
		}
		before := len(ws.frames)
		require.NoError(t, c.step(b))
		perStep[n-1] = len(ws.frames) - before
	}
	var inputs, acks, events int
	var seqs []uint32
	for _, f := range ws.frames {
		var m sessionpb.ClientMessage
		require.NoError(t, netcode.DecodeClient(f, &m))
		switch body := m.Body.(type) {
		case *sessionpb.ClientMessage_Inputs:
			if len(body.Inputs.GetInputs()) == 0 {
				acks++
			} else {
				inputs++
				// The new input rides with its unacknowledged predecessors.
				in := body.Inputs.GetInputs()
				assert.Equal(t, []byte{byte(7 * inputs)}, in[len(in)-1])
			}
		case *sessionpb.ClientMessage_Event:
			events++
			assert.Equal(t, "paint", body.Event.GetName())
			seqs = append(seqs, m.GetSeq())
		default:
			t.Fatalf("unexpected frame %T", body)
		}
	}
	assert.Equal(t, steps/7, inputs)
	assert.Equal(t, steps/5, events)
	assert.Equal(t, 30, acks, "35 snapshots: 5 acknowledged by the input of their tick, 30 alone")
	assert.Equal(t, []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, seqs, "events are numbered reliable frames")
	for n, frames := range perStep {
		want := 0
		if (n+1)%2 == 0 || (n+1)%7 == 0 {
			want = 1 // an acknowledgement or an input
		}
		if (n+1)%5 == 0 {
			want++ // an event
		}
		assert.Equal(t, want, frames, "step %d", n+1)
	}
	for _, ready := range b.brain.(*painterBrain).ready {
		assert.False(t, ready, "a cheap bot's brain never sees state")
	}
}

// TestLeanBotOfATickInputsGameSendsEveryTick: the arena's cheap bot sends
// one input frame a tick, each with up to two unacknowledged inputs before
// the new one (what it always sent, now as the game's bytes).
func TestLeanBotOfATickInputsGameSendsEveryTick(t *testing.T) {
	b := newBot(0, arena.Def, 1, true)
	ws := &fakeSocket{}
	c := &leanConn{b: b, w: ws, done: make(chan struct{})}
	b.lean = c
	h, err := gametest.New(arena.Def, game.Config{TickRate: 60, Capacity: 4, Seed: 1}) // for a describe

	require.NoError(t, err)
	require.NoError(t, b.joined(joinedFor(arena.Def, 1, h.Match.Describe()), nil))
	for range 60 {
		require.NoError(t, c.step(b))
	}
	require.Len(t, ws.frames, 60)
	for i, f := range ws.frames {
		var m sessionpb.ClientMessage
		require.NoError(t, netcode.DecodeClient(f, &m))
		in := m.GetInputs()
		require.NotNil(t, in)
		assert.Len(t, in.GetInputs(), min(i+1, 3))
		assert.Equal(t, uint32(max(1, i-1)), in.GetFirstSeq())
		for _, data := range in.GetInputs() {
			_, _, err := arena.DecodeInput(data)
			assert.NoError(t, err)
		}
	}
}

// TestLeanBotBatchesInputs: with an input batch of 2 the arena's cheap bot
// writes a frame every other tick, carrying the held input, and measures
// each input's latency from the tick it was made.
func TestLeanBotBatchesInputs(t *testing.T) {
	b := newBot(0, arena.Def, 1, true)
	b.inputBatch = 2
	ws := &fakeSocket{}
	c := &leanConn{b: b, w: ws, done: make(chan struct{})}
	b.lean = c
	h, err := gametest.New(arena.Def, game.Config{TickRate: 60, Capacity: 4, Seed: 1})
	require.NoError(t, err)
	require.NoError(t, b.joined(joinedFor(arena.Def, 1, h.Match.Describe()), nil))
	for range 60 {
		require.NoError(t, c.step(b))
	}
	require.Len(t, ws.frames, 30)
	for i, f := range ws.frames {
		var m sessionpb.ClientMessage
		require.NoError(t, netcode.DecodeClient(f, &m))
		in := m.GetInputs()
		require.NotNil(t, in)
		assert.Equal(t, uint32(2*i+2), in.GetFirstSeq()+uint32(len(in.GetInputs()))-1, "frame %d ends with the even input", i)
		assert.Len(t, in.GetInputs(), min(2*i+2, 4), "the held input and two unacknowledged ride along")
	}
	require.NoError(t, c.step(b)) // input 61, held
	time.Sleep(3 * time.Millisecond)
	require.NoError(t, c.step(b)) // input 62 sends both
	require.Len(t, ws.frames, 31)
	c.mu.Lock()
	assert.GreaterOrEqual(t, time.Duration(c.sent[62]-c.sent[61]), 3*time.Millisecond,
		"the held input's latency counts from when it was made, not from when it was sent")
	c.mu.Unlock()

	// Snapshots arriving before odd steps: the frame goes right after
	// each, acknowledging it, with the input held since the one before.
	for n := uint32(63); n <= 72; n++ {
		before := len(ws.frames)
		if n%2 == 1 {
			frame := netcode.AppendSnapshotFrame(nil, 1000+n, 0, 0, []byte{0})
			c.OnMessage(nil, &gws.Message{Opcode: gws.OpcodeBinary, Data: bytes.NewBuffer(frame)})
		}
		require.NoError(t, c.step(b))
		if n%2 == 0 {
			assert.Len(t, ws.frames, before, "step %d holds its input", n)
			continue
		}
		require.Len(t, ws.frames, before+1, "step %d sends at once: a snapshot needs acknowledging", n)
		var m sessionpb.ClientMessage
		require.NoError(t, netcode.DecodeClient(ws.frames[before], &m))
		assert.Equal(t, 1000+n, m.GetInputs().GetAckTick())
		in := m.GetInputs()
		assert.Equal(t, n, in.GetFirstSeq()+uint32(len(in.GetInputs()))-1)
	}
}

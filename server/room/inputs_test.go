package room

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/outbox"
)

// in is a one-byte input; the queue does not look inside inputs.
func in(b byte) game.Input { return game.Input{Data: []byte{b}} }

// take runs the queue's tick and returns the input's byte (0 for none).
func take(q *inputQueue) (byte, uint32) {
	var p pendingInput
	ok, ack := q.next(&p, true)
	if !ok {
		return 0, ack
	}
	return p.data[0], ack
}

func TestInputQueue(t *testing.T) {
	type step struct {
		add     []uint32 // seqs to add before the tick (buttons = seq)
		wantIn  byte
		wantAck uint32
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"one per tick", []step{
			{[]uint32{1}, 1, 1}, {[]uint32{2}, 2, 2}, {[]uint32{3}, 3, 3},
		}},
		{"nothing before the first input claims nothing", []step{
			{nil, 0, 0}, {nil, 0, 0}, {[]uint32{5}, 5, 5},
		}},
		{"a missing input stands still and claims nothing; the late one comes next", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {[]uint32{2, 3}, 2, 2}, {nil, 3, 3},
		}},
		{"redundant resends apply once", []step{
			{[]uint32{1, 2}, 1, 1}, {[]uint32{1, 2, 3}, 2, 2}, {[]uint32{2, 3}, 3, 3}, {nil, 0, 3},
		}},
		{"out of order arrivals are sorted", []step{
			{[]uint32{3, 1, 2}, 1, 1}, {nil, 2, 2}, {nil, 3, 3},
		}},
		{"a stalled client resumes where it was", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1},
			{[]uint32{2}, 2, 2},
		}},
		{"a jitter spike leaves a buffer behind", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {[]uint32{2}, 2, 2}, {[]uint32{3}, 3, 3}, {[]uint32{4, 5}, 4, 4},
			{[]uint32{6}, 5, 5}, {[]uint32{7}, 6, 6},
		}},
		{"a burst is applied one per tick", []step{
			{[]uint32{1, 2, 3, 4}, 1, 1}, {nil, 2, 2}, {nil, 3, 3}, {nil, 4, 4},
		}},
		{"a banked burst beyond the bound loses its oldest", []step{
			{[]uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3, 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q inputQueue
			for i, s := range tc.steps {
				for _, seq := range s.add {
					q.add(seq, []game.Input{in(byte(seq))})
				}
				got, ack := take(&q)
				assert.Equal(t, s.wantIn, got, "step %d input", i)
				assert.Equal(t, s.wantAck, ack, "step %d ack", i)
			}
		})
	}
}

func TestInputQueueCountsStarvedTicks(t *testing.T) {
	var q inputQueue
	q.add(1, []game.Input{in(7)})
	var p pendingInput
	ok, _ := q.next(&p, true)
	require.True(t, ok)
	ok, ack := q.next(&p, true)
	assert.False(t, ok, "no input this tick")
	assert.Equal(t, uint32(1), ack)
	assert.Equal(t, uint64(1), q.starved)
	q.next(&p, false)
	assert.Equal(t, uint64(1), q.starved, "a game without tick inputs never starves")
}

func TestInputQueueBatchAdd(t *testing.T) {
	var q inputQueue
	assert.Equal(t, Verdict{Added: 3}, q.add(10, []game.Input{in(1), in(2), in(3)}))
	assert.Equal(t, Verdict{Added: 1, Duplicate: 2}, q.add(11, []game.Input{in(2), in(3), in(4)}), "only seq 13 is new")
	got, ack := take(&q)
	assert.Equal(t, byte(1), got)
	assert.Equal(t, uint32(10), ack)
	assert.Equal(t, Verdict{Stale: 1}, q.add(10, []game.Input{in(9)}), "applied seqs are refused")
	assert.Equal(t, Verdict{Stale: 1}, q.add(0, []game.Input{in(9)}), "seq 0 is never valid")
	assert.Equal(t, Verdict{FarFuture: 1}, q.add(10+farAhead+1, []game.Input{in(9)}), "far ahead of the applied number")
	assert.Equal(t, Verdict{FarFuture: 1, Stale: 2}, q.add(1<<32-1, []game.Input{in(9), in(9), in(9)}), "numbers that wrap are refused")
	var fresh inputQueue
	fresh.add(1, []game.Input{{Data: make([]byte, 100)}})
	var p pendingInput
	fresh.next(&p, true)
	assert.Equal(t, 1, int(p.seq))
	assert.Equal(t, game.MaxInputSize, int(p.n), "the gateway refuses longer inputs; the queue never overflows")
}

// TestInputsAreAppliedExactlyOnceInOrder plays a client sending one input a
// tick over a jittery link (arrivals late by 0..jitter ticks, order kept)
// through the queue into an arena match, and checks what prediction relies
// on: at every tick, the player is exactly where applying inputs 1..ack
// with MovePlayer puts it. Early on a burst of lateness builds a backlog; once
// the link calms down the backlog drains (spared inputs) and inputs wait at
// most a tick again.
func TestInputsAreAppliedExactlyOnceInOrder(t *testing.T) {
	for _, jitter := range []int{0, 3, 6} {
		rng := rand.New(rand.NewPCG(uint64(jitter), 9))
		r, err := newRoom("q", quietConfig(Config{Seed: 1}), nil)
		require.NoError(t, err)
		m := &Member{room: r, out: outbox.New(0)}
		m.init()
		require.NoError(t, r.add(m, 0))
		w := r.match.(interface{ World() *sim.World }).World()
		cfg := w.Config
		start := *w.Player(1)
		const n = 1200
		inputs := make([]sim.Input, n+1)
		arrive := make([]int, n+1)
		dirs := []sim.Buttons{sim.ButtonUp, sim.ButtonDown, sim.ButtonLeft, sim.ButtonRight, sim.ButtonDown | sim.ButtonRight, 0}
		b := dirs[0]
		last := 0
		for seq := 1; seq <= n; seq++ {
			if rng.IntN(15) == 0 {
				b = dirs[rng.IntN(len(dirs))]
			}
			inputs[seq] = sim.Input{Buttons: b, Aim: uint16(seq % sim.AimSteps)}
			if rng.IntN(10) == 0 {
				inputs[seq].Buttons |= sim.ButtonFire
			}
			late := 0
			if jitter > 0 && seq < n/2 {
				late = rng.IntN(jitter + 1)
			}
			arrive[seq] = max(seq+late, last)
			last = arrive[seq]
		}
		// want[a] is the player after inputs 1..a.
		want := make([]sim.Player, n+1)
		want[0] = start
		for seq := 1; seq <= n; seq++ {
			want[seq] = want[seq-1]
			cfg.MovePlayer(&want[seq], inputs[seq])
		}

		next := 1
		waited := 0
		for tick := 1; tick <= n+60; tick++ {
			for next <= n && arrive[next] <= tick {
				m.inputs.add(uint32(next), arenaInputs(inputs[next]))
				next++
			}
			ack := m.inputs.apply(r, 1, &m.scratch)
			r.ctx.Advance()
			r.match.Step(r.ctx)
			p := w.Player(1)
			require.Equal(t, want[ack].X, p.X, "jitter %d tick %d ack %d", jitter, tick, ack)
			require.Equal(t, want[ack].Y, p.Y, "jitter %d tick %d ack %d", jitter, tick, ack)
			if tick > n*3/4 && tick <= n {
				waited = max(waited, tick-arrive[ack])
			}
		}
		q := &m.inputs
		assert.Equal(t, want[n].X, w.Player(1).X, "every input applied")
		assert.Zero(t, q.dropped)
		assert.LessOrEqual(t, waited, 1, "jitter %d: the backlog drained once the link calmed down", jitter)
		if jitter > 0 {
			assert.Positive(t, q.starved, "jitter %d: late inputs made the player wait", jitter)
			assert.Positive(t, q.spared, "jitter %d: the backlog was drained by spare inputs", jitter)
		}
	}
}

// TestInputQueueGrantsNoExtraMoves feeds the queue as cheaters would (more
// inputs than ticks, or inputs held back and then burst) and counts the
// moves it grants: never more than the ticks since the player joined, the
// most an honest client sending one input a tick gets.
func TestInputQueueGrantsNoExtraMoves(t *testing.T) {
	tests := []struct {
		name string
		// sent is how many inputs the client sends before tick n (1-based).
		perTick func(tick int) int
	}{
		{"honest", func(int) int { return 1 }},
		{"1.2x", func(tick int) int { return 1 + boolInt(tick%5 == 0) }},
		{"2x", func(int) int { return 2 }},
		{"10x", func(int) int { return 10 }},
		{"hold a second, then burst", func(tick int) int {
			switch {
			case tick%120 < 60:
				return 0
			case tick%120 == 60:
				return 60
			}
			return 1
		}},
		{"hold in short bursts", func(tick int) int {
			if tick%10 == 0 {
				return 10
			}
			return 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q inputQueue
			seq := uint32(0)
			moves := 0
			for tick := 1; tick <= 1200; tick++ {
				for range tc.perTick(tick) {
					seq++
					q.add(seq, []game.Input{in(1)})
				}
				var p pendingInput
				if q.spare(&p, sparesAll{}) {
					moves++
				}
				if ok, _ := q.next(&p, true); ok {
					moves++
				}
				require.LessOrEqual(t, moves, tick, "tick %d: more moves than ticks", tick)
			}
			if tc.name == "honest" {
				assert.Equal(t, 1200, moves)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sparesAll lets the queue spare any input.
type sparesAll struct{}

func (sparesAll) Spare([]byte) bool { return true }

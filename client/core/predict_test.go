package core

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
)

// loopback is a scripted server for the predictor: an arena match (the
// game as a room drives it) that applies one input per tick after they
// have travelled lag ticks, and sends a snapshot every other tick,
// delivered lag ticks later.
type loopback struct {
	h       *gametest.Harness
	lag     int
	inputs  [][]byte // in flight to the server, index = seq-1
	applied uint32
	snaps   []pendingSnap
}

type pendingSnap struct {
	due   int
	tick  uint32
	ack   uint32
	state *game.Table
}

func newLoopback(t *testing.T, lag int) *loopback {
	h, err := gametest.New(arena.Def, game.Config{TickRate: 60, Capacity: 4, Seed: 5})
	require.NoError(t, err)
	require.NoError(t, h.Join(1, "ann"))
	return &loopback{h: h, lag: lag}
}

// world is the match's sim.World, to move the player behind the client's
// back.
func (l *loopback) world() *sim.World {
	return l.h.Match.(interface{ World() *sim.World }).World()
}

// client is the arena's client-side rules for this match.
func (l *loopback) client(t *testing.T) *arena.Client {
	c, err := arena.NewClient(l.h.Match.Describe())
	require.NoError(t, err)
	return c
}

// send queues input seq (the next one) for the server.
func (l *loopback) send(in []byte) { l.inputs = append(l.inputs, in) }

// tick runs client tick n: the server applies the input that has arrived,
// steps, maybe snapshots; the client gets the snapshots now due.
func (l *loopback) tick(t *testing.T, n int, deliver func(tick, ack uint32, st *game.Table)) {
	if seq := l.applied + 1; int(seq) <= len(l.inputs) && n-int(seq) >= l.lag {
		require.NoError(t, l.h.Input(1, l.inputs[seq-1]))
		l.applied = seq
	}
	l.h.Step()
	if l.h.Ctx.Tick()%2 == 0 {
		st := game.NewTable(arena.Schema)
		st.CopyFrom(l.h.State())
		l.snaps = append(l.snaps, pendingSnap{due: n + l.lag, tick: st.Tick, ack: l.applied, state: st})
	}
	for len(l.snaps) > 0 && l.snaps[0].due <= n {
		s := l.snaps[0]
		l.snaps = l.snaps[1:]
		deliver(s.tick, s.ack, s.state)
	}
}

// ownRow is the own player's row in the predictor's drawn table.
func ownRow(p *predictor) []int64 { return p.shown().Get(arena.KindPlayer, 1) }

func TestPredictionMatchesTheServer(t *testing.T) {
	l := newLoopback(t, 9) // 150 ms round trip at 60 Hz
	p := newPredictor(l.client(t), arena.Schema, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []sim.Buttons{sim.ButtonUp, sim.ButtonDown | sim.ButtonLeft, sim.ButtonRight, 0, sim.ButtonLeft | sim.ButtonUp}
	btn := dirs[0]
	for n := 1; n <= 1200; n++ {
		if rng.IntN(20) == 0 {
			btn = dirs[rng.IntN(len(dirs))]
		}
		in := arena.AppendInput(nil, btn, uint16(n%1024))
		l.send(in)
		p.sent(uint32(n), in, 0)
		l.tick(t, n, func(tick, ack uint32, st *game.Table) { p.snapshot(tick, ack, st) })
	}
	assert.Greater(t, p.checks, uint64(500))
	assert.Zero(t, p.corrections)
	// The prediction runs a round trip (two lags, plus up to a snapshot
	// interval) ahead of the newest snapshot.
	assert.InDelta(t, 19, p.pending(), 1)
}

// TestReconciliationConvergesAfterAForcedCorrection: mid-walk the server
// moves the player by 40 units on its own (a shove the client cannot
// predict). The client counts one correction, replays its pending inputs on
// the corrected position, so its prediction equals the server's again once
// the server has applied them, and the drawn position glides to it.
func TestReconciliationConvergesAfterAForcedCorrection(t *testing.T) {
	l := newLoopback(t, 6)
	p := newPredictor(l.client(t), arena.Schema, 1)
	l.world().Player(1).X, l.world().Player(1).Y = 2000, 1600 // open floor
	corrections := []int{}
	in := arena.AppendInput(nil, sim.ButtonRight, 0)
	for n := 1; n <= 200; n++ {
		if n == 100 {
			l.world().Player(1).Y += 40 * sim.Scale // the forced correction
		}
		if n > 150 {
			in = arena.AppendInput(nil, sim.ButtonDown, 0)
		}
		l.send(in)
		p.sent(uint32(n), in, 0)
		l.tick(t, n, func(tick, ack uint32, st *game.Table) {
			if p.snapshot(tick, ack, st) {
				corrections = append(corrections, n)
			}
			p.decay(1.0 / 60)
		})
	}
	require.Len(t, corrections, 1, "one correction, then the prediction holds")
	assert.Greater(t, corrections[0], 100)
	assert.LessOrEqual(t, corrections[0], 100+2*6+2, "noticed within a round trip and a snapshot")
	assert.Zero(t, p.off[arena.PX])
	assert.Zero(t, p.off[arena.PY], "the visual offset has decayed")

	// Drain: the server applies every input; the prediction was already there.
	want := append([]int64(nil), p.pred.Get(arena.KindPlayer, 1)...)
	for n := 201; n <= 230; n++ {
		l.tick(t, n, func(tick, ack uint32, st *game.Table) { p.snapshot(tick, ack, st) })
	}
	assert.Equal(t, want[arena.PX], int64(l.world().Player(1).X))
	assert.Equal(t, want[arena.PY], int64(l.world().Player(1).Y))
	assert.Equal(t, uint64(1), p.corrections)
}

// selfTable is an arena state holding only player 1 with the given row
// values (fields not named are zero).
func selfTable(tick uint32, x, y, health, nextFire int64) *game.Table {
	t := game.NewTable(arena.Schema)
	t.Tick = tick
	row := t.Add(arena.KindPlayer, 1)
	row[arena.PX], row[arena.PY], row[arena.PHealth], row[arena.PNextFire] = x, y, health, nextFire
	return t
}

func TestSmoothingHidesASmallCorrection(t *testing.T) {
	cl, err := arena.NewClient(nil) // the default arena and 60 Hz rules
	require.NoError(t, err)
	cl.Config = sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	p := newPredictor(cl, arena.Schema, 1)
	p.snapshot(10, 0, selfTable(10, 2600, 1600, 100, 0))
	p.sent(1, arena.AppendInput(nil, sim.ButtonRight, 0), 0)
	require.Equal(t, int64(2600+27), p.pred.Get(arena.KindPlayer, 1)[arena.PX])
	// The server says it applied input 1 but the player is 50 units lower.
	require.True(t, p.snapshot(11, 1, selfTable(11, 2600+27, 1600+50, 100, 0)))
	assert.Equal(t, int64(1600+50), p.pred.Get(arena.KindPlayer, 1)[arena.PY], "the prediction itself snaps to the server")
	assert.InDelta(t, -50, p.off[arena.PY], 0.001, "the drawn position starts where it was")
	assert.Equal(t, int64(1600), ownRow(p)[arena.PY])
	for range 30 {
		p.decay(1.0 / 60)
	}
	assert.Zero(t, p.off[arena.PY], "and glides there within half a second")
	assert.Equal(t, int64(1600+50), ownRow(p)[arena.PY])
}

func TestPredictedShotsFollowTheFireRule(t *testing.T) {
	cl, err := arena.NewClient(nil)
	require.NoError(t, err)
	cl.Config = sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	p := newPredictor(cl, arena.Schema, 1)
	p.snapshot(100, 0, selfTable(100, 2600, 1600, 100, 100))
	for seq := uint32(1); seq <= 20; seq++ {
		p.sent(seq, arena.AppendInput(nil, sim.ButtonFire, 256), 0)
	}
	// Ticks 101..120: shots at 101 and 101+15.
	ids, _ := p.pred.Rows(arena.KindShot)
	require.Len(t, ids, 2)
	assert.Equal(t, []uint32{arena.PredictedShot | 101, arena.PredictedShot | 116}, ids)
	assert.Equal(t, int64(101), p.pred.Row(arena.KindShot, 0)[arena.SSpawn])
	assert.Equal(t, int64(116), p.pred.Row(arena.KindShot, 1)[arena.SSpawn])
	assert.Equal(t, int64(256), p.pred.Row(arena.KindShot, 0)[arena.SAim])
}

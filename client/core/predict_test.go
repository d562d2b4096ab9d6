package core

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/games/arena/sim"
)

// loopback is a scripted server for the predictor: a sim.World that applies
// one input per tick after they have travelled lag ticks, and sends a
// snapshot of the player every other tick, delivered lag ticks later.
type loopback struct {
	w       *sim.World
	lag     int
	inputs  []sim.Input // in flight to the server, index = seq-1
	applied uint32
	snaps   []pendingSnap
}

type pendingSnap struct {
	due  int
	tick uint32
	ack  uint32
	p    sim.Player
}

func newLoopback(t *testing.T, lag int) *loopback {
	w := sim.NewWorld(sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena(), Seed: 5})
	_, err := w.AddPlayer(1)
	require.NoError(t, err)
	return &loopback{w: w, lag: lag}
}

// tick runs client tick n: the server applies the input that has arrived,
// steps, maybe snapshots; the client gets the snapshots now due.
func (l *loopback) tick(n int, deliver func(tick, ack uint32, p *sim.Player)) {
	if seq := l.applied + 1; int(seq) <= len(l.inputs) && n-int(seq) >= l.lag {
		l.w.SetInput(1, l.inputs[seq-1])
		l.applied = seq
	} else {
		l.w.SetInput(1, sim.Input{})
	}
	l.w.Step()
	if l.w.Tick%2 == 0 {
		l.snaps = append(l.snaps, pendingSnap{due: n + l.lag, tick: l.w.Tick, ack: l.applied, p: *l.w.Player(1)})
	}
	for len(l.snaps) > 0 && l.snaps[0].due <= n {
		s := l.snaps[0]
		l.snaps = l.snaps[1:]
		deliver(s.tick, s.ack, &s.p)
	}
}

func TestPredictionMatchesTheServer(t *testing.T) {
	l := newLoopback(t, 9) // 150 ms round trip at 60 Hz
	p := newPredictor(&l.w.Config, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []sim.Buttons{sim.ButtonUp, sim.ButtonDown | sim.ButtonLeft, sim.ButtonRight, 0, sim.ButtonLeft | sim.ButtonUp}
	btn := dirs[0]
	for n := 1; n <= 1200; n++ {
		if rng.IntN(20) == 0 {
			btn = dirs[rng.IntN(len(dirs))]
		}
		in := sim.Input{Buttons: btn, Aim: uint16(n % 1024)}
		l.inputs = append(l.inputs, in)
		p.sent(uint32(n), in)
		l.tick(n, func(tick, ack uint32, pl *sim.Player) { p.snapshot(tick, ack, pl) })
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
	p := newPredictor(&l.w.Config, 1)
	l.w.Player(1).X, l.w.Player(1).Y = 2000, 1600 // open floor
	corrections := []int{}
	in := sim.Input{Buttons: sim.ButtonRight}
	for n := 1; n <= 200; n++ {
		if n == 100 {
			l.w.Player(1).Y += 40 * sim.Scale // the forced correction
		}
		if n > 150 {
			in = sim.Input{Buttons: sim.ButtonDown}
		}
		l.inputs = append(l.inputs, in)
		p.sent(uint32(n), in)
		l.tick(n, func(tick, ack uint32, pl *sim.Player) {
			if p.snapshot(tick, ack, pl) {
				corrections = append(corrections, n)
			}
			p.decay(1.0 / 60)
		})
	}
	require.Len(t, corrections, 1, "one correction, then the prediction holds")
	assert.Greater(t, corrections[0], 100)
	assert.LessOrEqual(t, corrections[0], 100+2*6+2, "noticed within a round trip and a snapshot")
	assert.Zero(t, p.offX)
	assert.Zero(t, p.offY, "the visual offset has decayed")

	// Drain: the server applies every input; the prediction was already there.
	want := p.pred
	for n := 201; n <= 230; n++ {
		l.tick(n, func(tick, ack uint32, pl *sim.Player) { p.snapshot(tick, ack, pl) })
	}
	assert.Equal(t, want.X, l.w.Player(1).X)
	assert.Equal(t, want.Y, l.w.Player(1).Y)
	assert.Equal(t, uint64(1), p.corrections)
}

func TestSmoothingHidesASmallCorrection(t *testing.T) {
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	p := newPredictor(&cfg, 1)
	self := sim.Player{ID: 1, X: 2600, Y: 1600, Health: 100}
	p.snapshot(10, 0, &self)
	p.sent(1, sim.Input{Buttons: sim.ButtonRight})
	require.Equal(t, int32(2600+27), p.pred.X)
	// The server says it applied input 1 but the player is 50 units lower.
	server := self
	server.X += 27
	server.Y += 50
	require.True(t, p.snapshot(11, 1, &server))
	assert.Equal(t, server.Y, p.pred.Y, "the prediction itself snaps to the server")
	assert.InDelta(t, -50, p.offY, 0.001, "the drawn position starts where it was")
	for range 30 {
		p.decay(1.0 / 60)
	}
	assert.Zero(t, p.offY, "and glides there within half a second")
}

func TestPredictedShotsFollowTheFireRule(t *testing.T) {
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	p := newPredictor(&cfg, 1)
	self := sim.Player{ID: 1, X: 2600, Y: 1600, Health: 100, NextFire: 100}
	p.snapshot(100, 0, &self)
	for seq := uint32(1); seq <= 20; seq++ {
		p.sent(seq, sim.Input{Buttons: sim.ButtonFire, Aim: 256})
	}
	// Ticks 101..120: shots at 101 and 101+15.
	require.Len(t, p.predProj, 2)
	assert.Equal(t, uint32(101), p.predProj[0].SpawnTick)
	assert.Equal(t, uint32(116), p.predProj[1].SpawnTick)
	assert.Equal(t, uint16(256), p.predProj[0].Aim)
}

package core

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
)

// feed plays 20 s of a 60 Hz server sending 30 snapshots a second through a
// link with the given one-way delay and ±jitter (order kept, as over TCP),
// with the client drawing 60 frames a second. It returns the timeline and
// checks on every frame that the render tick lies between the two states
// it interpolates.
func feed(t *testing.T, fixedDelay, oneWay, jitter float64, seed uint64) *timeline {
	tl := newTimeline(60, 30, fixedDelay)
	rng := rand.New(rand.NewPCG(seed, 3))
	type arrival struct {
		tick uint32
		at   float64
	}
	var wire []arrival
	last := 0.0
	for tick := uint32(2); tick <= 1200; tick += 2 {
		sent := float64(tick) / 60
		at := sent + oneWay + (rng.Float64()*2-1)*jitter
		at = max(at, last)
		last = at
		wire = append(wire, arrival{tick, at})
	}
	st := game.NewTable(testSchema)
	for frame := 1; frame <= 1200; frame++ {
		now := float64(frame) / 60
		for len(wire) > 0 && wire[0].at <= now {
			st.Tick = wire[0].tick
			tl.add(st, wire[0].at)
			wire = wire[1:]
		}
		tl.advance(now)
		if frame == 120 {
			tl.dry, tl.frames = 0, 0 // two seconds to settle
		}
		if a, b, _ := tl.bracket(); a != nil && frame > 120 {
			require.LessOrEqual(t, float64(a.Tick), tl.render+1e-9, "frame %d", frame)
			require.GreaterOrEqual(t, float64(b.Tick), tl.render-1e-9, "frame %d", frame)
		}
	}
	return tl
}

func TestInterpolationNeverRunsDryUnderJitter(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		tl := feed(t, 0, 0.075, 0.030, seed)
		assert.Zero(t, tl.dry, "seed %d: frames past the newest state", seed)
		assert.Greater(t, tl.frames, uint64(1000))
		// The adaptive delay stays small: one snapshot interval, the 60 ms
		// spread of ±30 ms, a tick of margin: about 110 ms, not seconds.
		delayMs := tl.delay / 60 * 1000
		assert.Greater(t, delayMs, 66.0, "seed %d", seed)
		assert.Less(t, delayMs, 130.0, "seed %d", seed)
	}
}

func TestInterpolationDelayIsTwoSnapshotsWithoutJitter(t *testing.T) {
	tl := feed(t, 0, 0.010, 0, 1)
	assert.Zero(t, tl.dry)
	assert.InDelta(t, 4, tl.delay, 0.01, "two snapshot intervals, in ticks")
}

// TestTooShortAFixedDelayRunsDry shows the dry-frame count is a real
// measurement: a 30 ms delay cannot absorb ±30 ms of jitter.
func TestTooShortAFixedDelayRunsDry(t *testing.T) {
	tl := feed(t, 0.030, 0.075, 0.030, 1)
	assert.Greater(t, tl.dry, uint64(50))
	tl = feed(t, 0.150, 0.075, 0.030, 1)
	assert.Zero(t, tl.dry, "a fixed delay long enough is fine too")
}

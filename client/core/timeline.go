package core

import (
	"math"

	"github.com/arenaserver/arena/game"
)

// timelineSize is how many received states the timeline keeps: two seconds
// at 30 snapshots per second is more than any interpolation delay needs.
const timelineSize = 64

// received is one snapshot's state and when it arrived (seconds on the
// session's clock).
type received struct {
	state game.Table
	at    float64
}

// timeline holds the received states of a room and runs the render clock
// that draws every other entity a little in the past, between two
// received states. It is pure (time is passed in) and owned by the game
// goroutine.
//
// The server's clock is estimated from snapshot arrivals: each snapshot of
// tick S arriving at time t gives an offset S − rate·t; the largest offset
// over the last few seconds is the least delayed delivery, the best guess
// of the server's present (minus the minimum one-way delay). How far the
// others fall below it is the jitter that the interpolation delay must
// absorb: the delay is one snapshot interval plus that spread plus a tick
// of margin, and never below two snapshot intervals (PROTOCOL.md 10). A
// configured fixed delay replaces the adaptive one.
type timeline struct {
	rate     float64 // ticks per second
	interval float64 // ticks between snapshots
	fixed    float64 // fixed delay in ticks; 0 = adaptive

	states [timelineSize]received
	n      int // states held, newest at index (head-1)
	head   int

	offsets  [timelineSize]float64 // per state, S − rate·t
	jitter   float64               // RFC 3550 interarrival jitter, seconds
	spread   float64               // ticks, max offset − offset over the window
	delay    float64               // ticks, the delay now in effect (target)
	render   float64               // the render tick
	lastAt   float64               // when advance last ran
	started  bool
	dry      uint64 // frames whose render tick was past the newest state
	frames   uint64 // frames advanced with at least two states
	snapped  uint64 // times the render clock jumped instead of gliding
	lastTick uint32
}

func newTimeline(tickRate, snapshotRate float64, fixedDelaySeconds float64) *timeline {
	tl := &timeline{rate: tickRate, interval: tickRate / max(snapshotRate, 1)}
	if fixedDelaySeconds > 0 {
		tl.fixed = fixedDelaySeconds * tickRate
	}
	tl.delay = tl.targetDelay()
	return tl
}

// window is how long offsets count for the clock and the spread, seconds.
const window = 3.0

// add stores a copy of st, which arrived at time at. States must come in
// increasing tick order (the protocol client drops stale ones).
func (tl *timeline) add(st *game.Table, at float64) {
	if tl.n > 0 && st.Tick <= tl.newest().state.Tick {
		return
	}
	slot := &tl.states[tl.head]
	slot.state.CopyFrom(st)
	slot.at = at
	off := float64(st.Tick) - tl.rate*at
	if tl.n > 0 {
		prev := tl.newest()
		d := (at - prev.at) - float64(st.Tick-prev.state.Tick)/tl.rate
		tl.jitter += (math.Abs(d) - tl.jitter) / 16
	}
	tl.offsets[tl.head] = off
	tl.head = (tl.head + 1) % timelineSize
	tl.n = min(tl.n+1, timelineSize)
	tl.lastTick = st.Tick
	tl.measure(at)
}

// measure recomputes the clock offset and the spread over the window.
func (tl *timeline) measure(now float64) (best float64) {
	best = math.Inf(-1)
	worst := math.Inf(1)
	for i := range tl.n {
		j := (tl.head - 1 - i + timelineSize) % timelineSize
		if now-tl.states[j].at > window && i > 0 {
			break
		}
		best = max(best, tl.offsets[j])
		worst = min(worst, tl.offsets[j])
	}
	if tl.n > 0 {
		tl.spread = best - worst
	}
	return best
}

func (tl *timeline) targetDelay() float64 {
	if tl.fixed > 0 {
		return tl.fixed
	}
	return max(2*tl.interval, tl.interval+tl.spread+1)
}

func (tl *timeline) newest() *received {
	return &tl.states[(tl.head-1+timelineSize)%timelineSize]
}

// at returns the i-th oldest state held.
func (tl *timeline) at(i int) *received {
	return &tl.states[(tl.head-tl.n+i+timelineSize)%timelineSize]
}

// advance moves the render clock to now. It glides toward the target (at
// most 10 % faster or slower than real time) so motion stays smooth, jumps
// when it is far off, and never passes the newest state: a frame that would
// is counted as dry (the interpolation buffer ran out) and holds.
func (tl *timeline) advance(now float64) {
	if tl.n == 0 {
		return
	}
	best := tl.measure(now)
	tl.delay = tl.targetDelay()
	target := best + tl.rate*now - tl.delay
	if !tl.started {
		tl.render, tl.started = target, true
	} else {
		dt := max(now-tl.lastAt, 0)
		step := dt * tl.rate
		err := target - tl.render
		switch {
		case math.Abs(err) > tl.rate/2:
			tl.render = target
			tl.snapped++
		default:
			tl.render += step * (1 + max(-0.1, min(0.1, err/max(step*10, 1e-9))))
		}
	}
	tl.lastAt = now
	newest := float64(tl.newest().state.Tick)
	if tl.n >= 2 {
		tl.frames++
		if tl.render > newest {
			tl.dry++
		}
	}
	tl.render = min(tl.render, newest)
	if oldest := float64(tl.at(0).state.Tick); tl.render < oldest {
		tl.render = oldest
	}
}

// bracket returns the two states around the render tick and how far
// between them it lies (0..1). With one state both are the same.
func (tl *timeline) bracket() (a, b *game.Table, alpha float64) {
	if tl.n == 0 {
		return nil, nil, 0
	}
	r := tl.render
	for i := tl.n - 1; i >= 0; i-- {
		s := &tl.at(i).state
		if float64(s.Tick) <= r {
			if i == tl.n-1 {
				return s, s, 0
			}
			nx := &tl.at(i + 1).state
			return s, nx, (r - float64(s.Tick)) / float64(nx.Tick-s.Tick)
		}
	}
	s := &tl.at(0).state
	return s, s, 0
}

// depth is how far the newest state is ahead of the render tick, in ticks:
// what is left in the interpolation buffer.
func (tl *timeline) depth() float64 {
	if tl.n == 0 {
		return 0
	}
	return float64(tl.newest().state.Tick) - tl.render
}

// reset forgets every state (a new membership).
func (tl *timeline) reset() {
	tl.n, tl.head, tl.started = 0, 0, false
	tl.spread, tl.jitter = 0, 0
}

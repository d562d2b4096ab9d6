package room

import (
	"slices"
	"time"

	"github.com/arenaserver/arena/sim"
)

// history is a ring of the room's recent snapshots, the baselines its
// deltas start from. Owned by the room goroutine.
type history struct {
	states []sim.State
	next   int
}

func newHistory(n int) history { return history{states: make([]sim.State, n)} }

// push stores a copy of s, overwriting the oldest entry.
func (h *history) push(s *sim.State) {
	h.states[h.next].CopyFrom(s)
	h.next = (h.next + 1) % len(h.states)
}

// find returns the stored state of tick, or nil when tick is 0 or no longer
// held.
func (h *history) find(tick uint32) *sim.State {
	if tick == 0 {
		return nil
	}
	for i := range h.states {
		if h.states[i].Tick == tick {
			return &h.states[i]
		}
	}
	return nil
}

// baselineCache holds the state bytes encoded for one snapshot, once per
// distinct baseline tick (0 for the full state). Owned by the room goroutine.
type baselineCache struct {
	buf     []byte
	entries []cacheEntry
}

type cacheEntry struct {
	base       uint32
	start, end int
}

func (c *baselineCache) reset() {
	c.buf = c.buf[:0]
	c.entries = c.entries[:0]
}

func (c *baselineCache) get(base uint32) []byte {
	for _, e := range c.entries {
		if e.base == base {
			return c.buf[e.start:e.end]
		}
	}
	return nil
}

// put appends what encode writes and returns it. The result stays valid
// until the next put or reset.
func (c *baselineCache) put(base uint32, encode func([]byte) []byte) []byte {
	start := len(c.buf)
	c.buf = encode(c.buf)
	c.entries = append(c.entries, cacheEntry{base, start, len(c.buf)})
	if start == len(c.buf) {
		return c.buf[start:len(c.buf):len(c.buf)] // never nil for an empty encoding
	}
	return c.buf[start:]
}

func summarize(ds []time.Duration) *TickStats {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return &TickStats{}
	}
	pick := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return &TickStats{P50: pick(0.50), P99: pick(0.99), Max: s[len(s)-1]}
}

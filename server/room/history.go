package room

import (
	"slices"
	"time"

	"github.com/arenaserver/arena/game"
)

// history is a ring of the room's recent replicated states, the baselines
// its deltas start from. Owned by the room goroutine.
type history struct {
	tables []game.Table
	next   int
}

func newHistory(n int, s *game.Schema) history {
	h := history{tables: make([]game.Table, n)}
	for i := range h.tables {
		h.tables[i].Reset(s)
	}
	return h
}

// slot returns the entry the next state is written into (the oldest),
// emptied, and its index; push makes it the newest.
func (h *history) slot() (*game.Table, int) {
	t := &h.tables[h.next]
	t.Reset(nil)
	return t, h.next
}

func (h *history) push() { h.next = (h.next + 1) % len(h.tables) }

// newestTick is the tick of the newest state held (0 before any).
func (h *history) newestTick() uint32 {
	return h.tables[(h.next-1+len(h.tables))%len(h.tables)].Tick
}

// find returns the stored state of tick and its slot, or nil and -1 when
// tick is 0 or no longer held.
func (h *history) find(tick uint32) (*game.Table, int) {
	if tick == 0 {
		return nil, -1
	}
	for i := range h.tables {
		if h.tables[i].Tick == tick {
			return &h.tables[i], i
		}
	}
	return nil, -1
}

// baselineCache holds the state bytes encoded for one snapshot, once per
// distinct baseline (its tick, 0 for the full state, and what the member
// saw of it and sees now: 0 for a game without visibility). Owned by the
// room goroutine.
type baselineCache struct {
	buf     []byte
	entries []cacheEntry
}

type cacheEntry struct {
	key          cacheKey
	vis, baseVis *game.Visibility // what the encoding was made for, checked on a hit
	start, end   int
}

type cacheKey struct {
	base         uint32
	baseVis, vis uint64
}

func (c *baselineCache) reset() {
	c.buf = c.buf[:0]
	c.entries = c.entries[:0]
}

// get returns the encoding made for key, or nil. With visibility, a hit is
// checked against the sets themselves, so a hash collision costs an
// encoding, never a wrong one.
func (c *baselineCache) get(key cacheKey, vis, baseVis *game.Visibility) []byte {
	for _, e := range c.entries {
		if e.key == key && sameVis(e.vis, vis) && sameVis(e.baseVis, baseVis) {
			return c.buf[e.start:e.end]
		}
	}
	return nil
}

func sameVis(a, b *game.Visibility) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

// add records the bytes appended to buf since start as key's encoding and
// returns them; they stay valid until the next append or reset.
func (c *baselineCache) add(key cacheKey, start int, vis, baseVis *game.Visibility) []byte {
	c.entries = append(c.entries, cacheEntry{key, vis, baseVis, start, len(c.buf)})
	return c.buf[start:len(c.buf):len(c.buf)] // never nil for an empty encoding
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

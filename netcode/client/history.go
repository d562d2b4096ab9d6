package client

import (
	"time"

	"github.com/arenaserver/arena/game"
)

// history is a ring of decoded states, the baselines the server's deltas
// refer to. Guarded by Conn.mu.
type history struct {
	states []game.Table
	valid  []bool
	next   int
}

func (h *history) init(n int) {
	h.states = make([]game.Table, n)
	h.valid = make([]bool, n)
}

func (h *history) reset() { clear(h.valid) }

// keepOnly forgets every state but the one of tick.
func (h *history) keepOnly(tick uint32) {
	for i := range h.states {
		if h.states[i].Tick != tick {
			h.valid[i] = false
		}
	}
}

// slot returns the entry to decode the next state into.
func (h *history) slot() *game.Table {
	s := &h.states[h.next]
	h.valid[h.next] = true
	h.next = (h.next + 1) % len(h.states)
	return s
}

// discard forgets the last slot, which failed to decode.
func (h *history) discard() {
	h.next = (h.next - 1 + len(h.states)) % len(h.states)
	h.valid[h.next] = false
}

func (h *history) find(tick uint32) *game.Table {
	for i := range h.states {
		if h.valid[i] && h.states[i].Tick == tick {
			return &h.states[i]
		}
	}
	return nil
}

// inputLogSize bounds the inputs a client keeps while unacknowledged: two
// seconds at 60 Hz. Older ones are forgotten (the server has long repeated
// or dropped them).
const inputLogSize = 128

type sentInput struct {
	seq  uint32
	n    uint8
	data [game.MaxInputSize]byte
	sent time.Time
}

// bytes is the input's data (aliasing the log entry).
func (s *sentInput) bytes() []byte { return s.data[:s.n] }

// inputLog numbers inputs and remembers the unacknowledged ones. Guarded by
// Conn.mu.
type inputLog struct {
	ring    [inputLogSize]sentInput
	nextSeq uint32 // last sequence number handed out
	acked   uint32 // highest sequence number the server applied
	lat     []time.Duration
	scratch []*sentInput
}

func (l *inputLog) add(in []byte, now time.Time) uint32 {
	l.nextSeq++
	e := &l.ring[l.nextSeq%inputLogSize]
	e.seq, e.sent = l.nextSeq, now
	e.n = uint8(copy(e.data[:], in))
	return l.nextSeq
}

// unacked returns the first sequence number and up to n of the newest
// unacknowledged inputs, oldest first. The slice aliases the log: use it
// while the log is locked.
func (l *inputLog) unacked(n int) (uint32, []*sentInput) {
	n = min(n, inputLogSize)
	first := l.acked + 1
	if l.nextSeq >= uint32(n) && l.nextSeq-uint32(n)+1 > first {
		first = l.nextSeq - uint32(n) + 1
	}
	l.scratch = l.scratch[:0]
	for seq := first; seq <= l.nextSeq; seq++ {
		l.scratch = append(l.scratch, &l.ring[seq%inputLogSize])
	}
	return first, l.scratch
}

// ack records the server's input ack and returns the latency of each input
// it newly covers (reused slice).
func (l *inputLog) ack(seq uint32, now time.Time) []time.Duration {
	l.lat = l.lat[:0]
	if seq <= l.acked {
		return l.lat
	}
	from := max(l.acked+1, seq-min(seq, inputLogSize-1))
	for s := from; s <= seq && s <= l.nextSeq; s++ {
		if e := l.ring[s%inputLogSize]; e.seq == s {
			l.lat = append(l.lat, now.Sub(e.sent))
		}
	}
	l.acked = seq
	return l.lat
}

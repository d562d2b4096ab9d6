package client

import (
	"time"

	"github.com/arenaserver/arena/games/arena/sim"
)

// history is a ring of decoded states, the baselines the server's deltas
// refer to. Guarded by Conn.mu.
type history struct {
	states []sim.State
	valid  []bool
	next   int
}

func (h *history) init(n int) {
	h.states = make([]sim.State, n)
	h.valid = make([]bool, n)
}

func (h *history) reset() { clear(h.valid) }

// slot returns the entry to decode the next state into.
func (h *history) slot() *sim.State {
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

func (h *history) find(tick uint32) *sim.State {
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
	in   sim.Input
	sent time.Time
}

// inputLog numbers inputs and remembers the unacknowledged ones. Guarded by
// Conn.mu.
type inputLog struct {
	ring    [inputLogSize]sentInput
	nextSeq uint32 // last sequence number handed out
	acked   uint32 // highest sequence number the server applied
	lat     []time.Duration
	scratch []sentInput
}

func (l *inputLog) add(in sim.Input, now time.Time) uint32 {
	l.nextSeq++
	l.ring[l.nextSeq%inputLogSize] = sentInput{l.nextSeq, in, now}
	return l.nextSeq
}

// unacked returns the first sequence number and up to n of the newest
// unacknowledged inputs, oldest first. The slice aliases a scratch buffer.
func (l *inputLog) unacked(n int) (uint32, []sentInput) {
	n = min(n, inputLogSize)
	first := l.acked + 1
	if l.nextSeq >= uint32(n) && l.nextSeq-uint32(n)+1 > first {
		first = l.nextSeq - uint32(n) + 1
	}
	l.scratch = l.scratch[:0]
	for seq := first; seq <= l.nextSeq; seq++ {
		l.scratch = append(l.scratch, l.ring[seq%inputLogSize])
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

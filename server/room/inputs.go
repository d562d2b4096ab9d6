package room

import (
	"sync"

	"github.com/arenaserver/arena/sim"
)

// inputQueue holds one player's inputs between the connection that
// receives them and the room tick that applies them. The reader goroutine
// calls add; the room goroutine calls next. Bounded: at most inputQueueLen
// inputs wait; past that the oldest are dropped (and counted), so holding
// inputs back and bursting them gains nothing.
//
// Every input is applied exactly once and in order; none is invented. When
// no input has arrived for a tick, the player stands still (keeping its
// aim) and no sequence number is used up, so the late input is applied on
// a later tick, as the client predicted it. A client's own prediction thus
// stays exact under jitter, and each late arrival leaves one more input
// queued: the queue becomes a jitter buffer as deep as the worst lateness
// seen (at most inputQueueLen ticks).
type inputQueue struct {
	mu      sync.Mutex // guards the fields below
	pending [inputQueueLen]pendingInput
	n       int    // pending inputs, sorted by seq in pending[:n]
	applied uint32 // highest seq applied (or claimed); written by next
	dropped uint64 // inputs dropped because the queue was full
	starved uint64 // ticks the player stood still for want of an input; written by next

	// Owned by the room goroutine.
	last sim.Input // the input applied last; its aim is kept while none arrives
}

const inputQueueLen = 8

type pendingInput struct {
	seq uint32
	in  sim.Input
}

// add queues inputs firstSeq, firstSeq+1, ...; ones already applied or
// already queued are ignored. It reports how many were new.
func (q *inputQueue) add(firstSeq uint32, ins []sim.Input) (added int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, in := range ins {
		seq := firstSeq + uint32(i)
		if seq <= q.applied || seq == 0 {
			continue
		}
		// Insertion into the sorted window; it is tiny.
		pos := q.n
		for pos > 0 && q.pending[pos-1].seq >= seq {
			pos--
		}
		if pos < q.n && q.pending[pos].seq == seq {
			continue
		}
		if q.n == inputQueueLen {
			if pos == 0 {
				q.dropped++
				continue // older than everything queued: drop it
			}
			copy(q.pending[:], q.pending[1:q.n]) // drop the oldest
			q.n--
			pos--
			q.dropped++
		}
		copy(q.pending[pos+1:q.n+1], q.pending[pos:q.n])
		q.pending[pos] = pendingInput{seq, in}
		q.n++
		added++
	}
	return added
}

// next returns the input to apply this tick and the highest sequence number
// applied once it is. With none queued the player stands still, keeping its
// aim, and the applied number does not move.
func (q *inputQueue) next() (sim.Input, uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		p := q.pending[0]
		copy(q.pending[:], q.pending[1:q.n])
		q.n--
		q.applied = p.seq
		q.last = p.in
		return p.in, q.applied
	}
	if q.applied != 0 {
		q.starved++
	}
	return sim.Input{Aim: q.last.Aim}, q.applied
}

// reset forgets everything: used when a seat changes hands.
func (q *inputQueue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	*q = inputQueue{}
}

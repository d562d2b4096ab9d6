package room

import (
	"sync"
	"sync/atomic"

	"github.com/arenaserver/arena/sim"
)

// inputQueue holds one player's inputs between the connection that
// receives them and the room tick that applies them. The reader goroutine
// calls add; the room goroutine calls next. Bounded: at most inputQueueLen
// inputs wait; past that the oldest are dropped (and counted), so holding
// inputs back and bursting them gains nothing.
type inputQueue struct {
	mu      sync.Mutex // guards the fields below
	pending [inputQueueLen]pendingInput
	n       int    // pending inputs, sorted by seq in pending[:n]
	applied uint32 // highest seq applied (or claimed); written by next
	dropped uint64 // inputs dropped because the queue was full

	drops *atomic.Uint64 // if not nil, also counts the drops (the room's); set before use

	// Owned by the room goroutine.
	last        sim.Input // the input applied last tick, repeated when none arrives
	substituted int       // consecutive ticks that repeated last
	started     bool      // a real input has been applied
}

const (
	inputQueueLen = 8
	// maxSubstitute is how many consecutive missing inputs the room fills by
	// repeating the last one while claiming their sequence numbers; after
	// that the player stands still (keeping its aim) and no sequence number
	// is used up, so a client that stalled resumes where it was.
	maxSubstitute = 4
)

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
				q.drop()
				continue // older than everything queued: drop it
			}
			copy(q.pending[:], q.pending[1:q.n]) // drop the oldest
			q.n--
			pos--
			q.drop()
		}
		copy(q.pending[pos+1:q.n+1], q.pending[pos:q.n])
		q.pending[pos] = pendingInput{seq, in}
		q.n++
		added++
	}
	return added
}

func (q *inputQueue) drop() {
	q.dropped++
	if q.drops != nil {
		q.drops.Add(1)
	}
}

// next returns the input to apply this tick and the highest sequence number
// applied once it is. A missing input repeats the last one.
func (q *inputQueue) next() (sim.Input, uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		p := q.pending[0]
		copy(q.pending[:], q.pending[1:q.n])
		q.n--
		q.applied = p.seq
		q.last = p.in
		q.substituted = 0
		q.started = true
		return p.in, q.applied
	}
	if !q.started {
		return sim.Input{}, q.applied
	}
	if q.substituted < maxSubstitute {
		q.substituted++
		q.applied++
		return q.last, q.applied
	}
	return sim.Input{Aim: q.last.Aim}, q.applied
}

// reset forgets everything: used when a seat changes hands.
func (q *inputQueue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	*q = inputQueue{}
}

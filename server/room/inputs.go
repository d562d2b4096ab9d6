package room

import (
	"sync"
	"sync/atomic"

	"github.com/arenaserver/arena/game"
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
//
// That buffer drains again when it is not needed: when at every tick of
// the last catchUpWindow ticks at least two inputs were waiting, the room
// applies one extra input in a tick (spare), if the game allows it
// (game.Sparer: the arena spares an input that does not fire, moving the
// player twice). Movement is a pure sequence of moves, so this keeps the
// client's prediction exact while its inputs wait less.
//
// A spare only makes up a tick the player stood still for want of an input
// (owed, at most inputQueueLen; counted from the first tick of the
// membership): however fast a client sends, and however it holds inputs
// back and bursts them, its player never makes more moves than ticks have
// passed since it joined, the most an honest client sending one input a
// tick can make.
type inputQueue struct {
	mu      sync.Mutex // guards the fields below
	pending [inputQueueLen]pendingInput
	n       int    // pending inputs, sorted by seq in pending[:n]
	applied uint32 // highest seq applied (or claimed); written by next
	dropped uint64 // inputs dropped because the queue was full
	starved uint64 // ticks the player stood still for want of an input; written by next
	spared  uint64 // extra inputs applied to drain a standing backlog
	owed    int    // ticks without an input not yet made up by a spare; at most inputQueueLen
	idle    uint32 // ticks since an input was last applied (after the first)

	// The standing backlog: the fewest inputs waiting at any tick of the
	// current window, and whether the last full window never had fewer
	// than two (so one can be spared).
	minDepth int
	window   int
	surplus  bool

	drops *atomic.Uint64 // if not nil, also counts the drops (the room's); set before use

	// resync: the next batch's first number moves the applied number up
	// to just before it (a room restored from a checkpoint: the client's
	// inputs the crashed server applied after it are gone with that play).
	resync bool
}

const (
	inputQueueLen = 8
	// farAhead is how far past the applied sequence number an input may be
	// numbered, plus two per tick without an input (a client keeps
	// numbering while its link is down): beyond that it is far-future and
	// refused.
	farAhead = 64
	// catchUpWindow is how many ticks a backlog of two or more inputs must
	// stand before one extra input is applied: half a second at 60 Hz.
	catchUpWindow = 30
)

// pendingInput is one queued input: its bytes are copied in, so the
// connection's frame buffer can be reused at once.
type pendingInput struct {
	seq      uint32
	viewTick uint32
	n        uint8
	data     [game.MaxInputSize]byte
}

// Verdict says what became of a batch of inputs given to Submit.
type Verdict struct {
	Added     int // queued for a coming tick
	Stale     int // numbered 0, or at or below the number already applied (resends land here)
	Duplicate int // already queued (resends land here too)
	FarFuture int // numbered implausibly far ahead of the applied number
	Dropped   int // pushed out of (or never into) the full queue: the oldest go first
}

// Add adds u's counts to v.
func (v *Verdict) Add(u Verdict) {
	v.Added += u.Added
	v.Stale += u.Stale
	v.Duplicate += u.Duplicate
	v.FarFuture += u.FarFuture
	v.Dropped += u.Dropped
}

// add queues inputs firstSeq, firstSeq+1, ...; ones already applied,
// already queued or numbered far ahead are refused. It reports what became
// of each.
func (q *inputQueue) add(firstSeq uint32, ins []game.Input) (v Verdict) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.resync && len(ins) > 0 {
		q.resync = false
		if firstSeq > q.applied+1 {
			q.applied = firstSeq - 1
			k := 0
			for i := range q.pending[:q.n] {
				if q.pending[i].seq > q.applied {
					q.pending[k] = q.pending[i]
					k++
				}
			}
			q.n = k
		}
	}
	for i, in := range ins {
		seq := firstSeq + uint32(i)
		if seq < firstSeq || seq <= q.applied || seq == 0 {
			v.Stale++ // a wrapped number counts as stale too
			continue
		}
		if q.applied != 0 && uint64(seq) > uint64(q.applied)+farAhead+2*uint64(q.idle) {
			v.FarFuture++
			continue
		}
		// Insertion into the sorted window; it is tiny.
		pos := q.n
		for pos > 0 && q.pending[pos-1].seq >= seq {
			pos--
		}
		if pos < q.n && q.pending[pos].seq == seq {
			v.Duplicate++
			continue
		}
		if q.n == inputQueueLen {
			v.Dropped++
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
		p := &q.pending[pos]
		p.seq, p.viewTick, p.n = seq, in.ViewTick, uint8(copy(p.data[:], in.Data))
		q.n++
		v.Added++
	}
	return v
}

func (q *inputQueue) drop() {
	q.dropped++
	if q.drops != nil {
		q.drops.Add(1)
	}
}

// next takes the input to apply this tick into dst and reports whether
// there was one. With none queued the player has no input this tick and
// the applied number does not move; a player sending one input a tick
// (tickInputs) then counts as starved.
func (q *inputQueue) next(dst *pendingInput, tickInputs bool) (ok bool, applied uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.window == 0 || q.n < q.minDepth {
		q.minDepth = q.n
	}
	if q.window++; q.window == catchUpWindow {
		q.surplus = q.minDepth >= 2
		q.window = 0
	}
	if q.n > 0 {
		q.take(dst)
		q.idle = 0
		return true, q.applied
	}
	q.owed = min(q.owed+1, inputQueueLen)
	if q.applied != 0 && tickInputs {
		q.starved++
		q.idle++
	}
	return false, q.applied
}

// take moves the oldest pending input into dst; called with mu held.
func (q *inputQueue) take(dst *pendingInput) {
	*dst = q.pending[0]
	copy(q.pending[:], q.pending[1:q.n])
	q.n--
	q.applied = dst.seq
}

// spare takes an extra input to apply before this tick's own (it is then
// applied: the number advances) when a backlog of two or more has stood for
// a whole window, the player is owed a tick it stood still, and the game
// allows this input to be spared. Call it before next.
func (q *inputQueue) spare(dst *pendingInput, allow game.Sparer) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.surplus || q.owed == 0 || q.n < 2 || !allow.Spare(q.pending[0].data[:q.pending[0].n]) {
		return false
	}
	q.owed--
	q.take(dst)
	q.surplus = false
	q.spared++
	return true
}

// apply hands the match player p's input for this tick (after a spared
// one, if any) and returns the input ack once it is applied. It runs on the
// room goroutine; scratch holds the input while the match reads it.
func (q *inputQueue) apply(r *Room, p game.PlayerID, scratch *pendingInput) (ack uint32) {
	if sp, ok := r.match.(game.Sparer); ok && r.def.TickInputs && q.spare(scratch, sp) {
		r.match.Input(r.ctx, p, game.Input{Data: scratch.data[:scratch.n], Seq: scratch.seq, ViewTick: scratch.viewTick, Extra: true})
	}
	ok, ack := q.next(scratch, r.def.TickInputs)
	if ok {
		r.match.Input(r.ctx, p, game.Input{Data: scratch.data[:scratch.n], Seq: scratch.seq, ViewTick: scratch.viewTick})
	}
	return ack
}

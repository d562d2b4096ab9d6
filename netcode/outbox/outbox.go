// Package outbox is the bounded queue between a room (or the lobby) and the
// writer of one peer's transport. Producers never block: a newer snapshot
// replaces one not yet written (latest wins), and reliable frames (replies,
// events, roster changes) queue up to a limit past which the producer is
// told to disconnect the peer. Any transport drains it the same way: the
// WebSocket writer and the long-poll GET share this one implementation of
// backpressure.
//
// outbox imports only the standard library.
package outbox

import (
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultReliableLimit is the reliable queue bound when New gets 0: Nakama's
// choice of 64 messages.
const DefaultReliableLimit = 64

var (
	// ErrFull means the reliable queue is at its limit: the peer does not
	// keep up, and the caller should disconnect it (nothing is dropped
	// silently).
	ErrFull = errors.New("outbox: reliable queue full")
	// ErrClosed means the outbox no longer accepts frames.
	ErrClosed = errors.New("outbox: closed")
)

// Outbox is safe for concurrent use by any number of producers and one
// consumer (the transport's writer).
type Outbox struct {
	ready chan struct{} // capacity 1: something is pending, or the outbox closed
	limit int

	mu       sync.Mutex // guards the fields below
	snap     []byte     // pending snapshot frame, owned by the outbox
	hasSnap  bool
	snapAt   int // reliable frames queued before the pending snapshot
	reliable [][]byte
	closed   bool
	reason   error

	replaced atomic.Uint64 // snapshots overwritten before a writer took them
	taken    atomic.Uint64 // frames handed to the writer
	takenB   atomic.Uint64 // their bytes
}

// New returns an outbox whose reliable queue holds up to reliableLimit frames
// (DefaultReliableLimit when 0).
func New(reliableLimit int) *Outbox {
	if reliableLimit <= 0 {
		reliableLimit = DefaultReliableLimit
	}
	return &Outbox{ready: make(chan struct{}, 1), limit: reliableLimit}
}

func (o *Outbox) signal() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// OfferSnapshot queues a copy of frame as the next snapshot, replacing a
// snapshot not yet taken. It never blocks and does not allocate once the
// outbox has seen a frame of this size. It reports false when the outbox is
// closed.
func (o *Outbox) OfferSnapshot(frame []byte) bool {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if o.hasSnap {
		o.replaced.Add(1)
	}
	o.snap = append(o.snap[:0], frame...)
	o.hasSnap = true
	o.snapAt = len(o.reliable)
	o.mu.Unlock()
	o.signal()
	return true
}

// Push queues a reliable frame; the outbox owns frame from then on. It
// returns ErrFull when the queue is at its limit and ErrClosed after Close.
func (o *Outbox) Push(frame []byte) error {
	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		return ErrClosed
	case len(o.reliable) >= o.limit:
		o.mu.Unlock()
		return ErrFull
	}
	o.reliable = append(o.reliable, frame)
	o.mu.Unlock()
	o.signal()
	return nil
}

// Close stops the outbox taking frames. A non-nil final frame (typically a
// fatal error) is queued after everything pending, past the limit; the
// writer writes what is pending, then closes its transport, telling the peer
// reason in the transport's own terms (nil: a normal close). Close is
// idempotent; only the first call's frame and reason are kept.
func (o *Outbox) Close(final []byte, reason error) {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		o.reason = reason
		if final != nil {
			o.reliable = append(o.reliable, final)
		}
	}
	o.mu.Unlock()
	o.signal()
}

// Reason is the reason given to Close (nil before, or for a normal close).
func (o *Outbox) Reason() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reason
}

// Closed reports whether Close was called.
func (o *Outbox) Closed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Ready is signalled when frames are pending or the outbox closed. One
// signal may stand for many frames; call Take after each.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

// Replaced is the number of snapshots dropped because a newer one replaced
// them before the writer took them (a slow reader).
func (o *Outbox) Replaced() uint64 { return o.replaced.Load() }

// Taken is how many frames, and how many bytes, writers have taken so far.
func (o *Outbox) Taken() (frames, bytes uint64) { return o.taken.Load(), o.takenB.Load() }

// Batch is what one Take hands the writer: every pending frame in the order
// it was queued, the newest snapshot standing where it was offered. A
// writer reuses one Batch; its slices stay valid until the next Take.
type Batch struct {
	Frames   [][]byte
	reliable [][]byte // spare backing array swapped with the outbox's
	snap     []byte   // spare snapshot buffer swapped with the outbox's
}

// Take moves everything pending into b, replacing what b held, in queue
// order: a Joined reply comes before the first snapshot, and a Left reply
// after the last. It reports whether the outbox is closed; when it is, the
// writer writes b.Frames and then closes its transport.
func (o *Outbox) Take(b *Batch) (closed bool) {
	clear(b.reliable)
	b.Frames = b.Frames[:0]
	o.mu.Lock()
	rel := o.reliable
	o.reliable = b.reliable[:0]
	b.reliable = rel
	snapAt := -1
	if o.hasSnap {
		o.snap, b.snap = b.snap, o.snap
		o.hasSnap = false
		snapAt = o.snapAt
	}
	closed = o.closed
	o.mu.Unlock()
	if snapAt < 0 {
		b.Frames = append(b.Frames, b.reliable...)
		o.count(b)
		return closed
	}
	b.Frames = append(b.Frames, b.reliable[:snapAt]...)
	b.Frames = append(b.Frames, b.snap)
	b.Frames = append(b.Frames, b.reliable[snapAt:]...)
	o.count(b)
	return closed
}

func (o *Outbox) count(b *Batch) {
	if len(b.Frames) == 0 {
		return
	}
	n := 0
	for _, f := range b.Frames {
		n += len(f)
	}
	o.taken.Add(uint64(len(b.Frames)))
	o.takenB.Add(uint64(n))
}

// Pending reports how many frames a Take would return now.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.reliable)
	if o.hasSnap {
		n++
	}
	return n
}

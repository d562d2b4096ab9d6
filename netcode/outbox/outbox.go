// Package outbox is the bounded queue between a room (or the lobby) and
// whatever transport currently carries one session to its client.
// Producers never block: a newer snapshot replaces one not yet written
// (latest wins), and reliable frames (replies, events, roster changes) are
// numbered and kept until the client acknowledges them, up to a limit past
// which the producer is told to end the session.
//
// A reliable frame is numbered when a link first takes it, so frames no
// client has seen yet can still be compacted without a gap in the numbers:
// each is pushed with a Policy. A Latest frame (a roster, which states the
// whole list) replaces an unsent one of its policy; while no link drains
// the outbox (its session is held), only the newest Limits.Held unsent
// Bounded frames (events) are kept. Every frame compacted away is counted
// (Compacted); Keep frames (replies) are never dropped.
//
// An outbox outlives transports. A transport drains it through a Link:
// Attach makes a link the outbox's current one (a resume), and the reliable
// frames the client has not acknowledged are handed to the new link again,
// in order. Any transport drains a link the same way: the WebSocket writer
// and the long-poll GET share this one implementation of backpressure.
//
// outbox imports only the standard library.
package outbox

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultReliableLimit is the bound on unacknowledged reliable frames when
// New gets 0. Frames stay in the outbox until the client acknowledges them,
// so the bound must cover what a session misses while it is held after a
// disconnection (default 30 s), not only what is in flight.
const DefaultReliableLimit = 256

// DefaultByteLimit bounds the bytes of unacknowledged reliable frames.
const DefaultByteLimit = 256 << 10

// SeqField is the protobuf field number of the reliable sequence number in
// ServerMessage (and ClientMessage). Push appends it to each reliable
// frame: a field appended to an encoded message is valid protobuf.
const SeqField = 20

var (
	// ErrFull means the reliable queue is at its limit: the client does not
	// keep up (or has been away too long), and the caller should end the
	// session (nothing is dropped silently).
	ErrFull = errors.New("outbox: reliable queue full")
	// ErrClosed means the outbox no longer accepts frames.
	ErrClosed = errors.New("outbox: closed")
)

// DefaultHeld is how many unsent Bounded frames a detached outbox keeps
// when Limits.Held is 0.
const DefaultHeld = 64

// Limits bound an outbox. Zero fields take the defaults.
type Limits struct {
	// Frames bounds the unacknowledged reliable frames. Default
	// DefaultReliableLimit.
	Frames int
	// Bytes bounds their total size. Default DefaultByteLimit.
	Bytes int
	// Held bounds the unsent frames of policy Bounded kept while no link
	// drains the outbox: past it the oldest is dropped and counted.
	// Default DefaultHeld; at most half of Frames, so a resumed session is
	// not cut at its first new frame for a backlog it could not yet ack.
	Held int
}

// Policy says what may become of a reliable frame that no client has seen
// yet. Frames a link has taken are kept until acknowledged, whatever their
// policy.
type Policy uint8

const (
	// Keep: kept until acknowledged (replies, Joined, Left, errors). A
	// full log refuses it (ErrFull).
	Keep Policy = iota
	// Latest: a newer Latest frame replaces it while no link has taken it
	// (a roster states the whole list: only the newest matters).
	Latest
	// Bounded: while no link drains the outbox, only the newest Limits.Held
	// unsent Bounded frames are kept and older ones are dropped (events a
	// held session misses; the state is in the next snapshot anyway). With
	// a link it is kept like Keep: a live peer that does not keep up is
	// told so (ErrFull).
	Bounded
)

// Outbox is safe for concurrent use by any number of producers and the
// writer of its current link.
type Outbox struct {
	lim  Limits
	done chan struct{} // closed by Close

	mu       sync.Mutex // guards the fields below
	log      []entry    // reliable frames not acknowledged, in queue order
	logBytes int
	sent     int    // log[:sent] were handed to the current link
	seq      uint32 // the last sequence number given out (numbered entries form a prefix of log)
	pushed   uint64 // reliable frames pushed so far
	snap     []byte // pending snapshot frame, owned by the outbox
	hasSnap  bool
	snapAt   uint64 // pushed when the snapshot was offered: it goes after those frames
	cur      *Link  // the link draining the outbox, or nil while detached
	closed   bool
	reason   error
	final    []byte
	spare    Link     // implicit link of Take
	direct   [][]byte // scratch list of one direct write

	replaced   atomic.Uint64 // snapshots overwritten before a writer took them
	superseded atomic.Uint64 // Latest frames replaced before a link took them
	heldDrops  atomic.Uint64 // Bounded frames dropped while detached
}

// entry is one reliable frame: frame[:body] is the caller's frame; once a
// link takes it, seq is set and appended to frame (field SeqField).
type entry struct {
	ord    uint64 // push order, from 1
	seq    uint32 // 0 until a link takes it
	policy Policy
	body   int
	frame  []byte
}

// entryCost is what an entry counts against Limits.Bytes: its frame and
// room for the sequence number.
func entryCost(e *entry) int { return e.body + 2 + binary.MaxVarintLen32 }

// New returns an outbox holding up to reliableLimit unacknowledged reliable
// frames (DefaultReliableLimit when 0) and DefaultByteLimit bytes.
func New(reliableLimit int) *Outbox { return NewLimits(Limits{Frames: reliableLimit}) }

// NewLimits returns an outbox with the given bounds.
func NewLimits(lim Limits) *Outbox {
	if lim.Frames <= 0 {
		lim.Frames = DefaultReliableLimit
	}
	if lim.Bytes <= 0 {
		lim.Bytes = DefaultByteLimit
	}
	if lim.Held <= 0 {
		lim.Held = DefaultHeld
	}
	// A held session's backlog fills at most half the log, so a resume has
	// room for the frames that follow it before the client's first ack.
	lim.Held = min(lim.Held, max(1, lim.Frames/2))
	o := &Outbox{lim: lim, done: make(chan struct{})}
	o.spare.init()
	o.cur = &o.spare
	o.spare.o = o
	return o
}

// signal wakes the current link's writer. Called with o.mu held.
func (o *Outbox) signal() {
	if o.cur != nil {
		o.cur.signal()
	}
}

// OfferSnapshot queues a copy of frame as the next snapshot, replacing a
// snapshot not yet taken. It never blocks and does not allocate once the
// outbox has seen a frame of this size. It reports false when the outbox is
// closed.
func (o *Outbox) OfferSnapshot(frame []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	if o.hasSnap {
		o.replaced.Add(1)
	} else if o.writeDirectLocked(frame) {
		return true // written at once, after the reliable frames waiting before it
	}
	o.snap = append(o.snap[:0], frame...)
	o.hasSnap = true
	o.snapAt = o.pushed
	o.signal()
	return true
}

// writeDirectLocked writes the reliable frames no link has taken and then
// snap (when not nil) in one direct write of the current link, numbering
// those frames as a Take would. It reports false, leaving everything as it
// was, when the link has no direct path, holds frames of its own or the
// write did not go out. Called with o.mu held.
func (o *Outbox) writeDirectLocked(snap []byte) bool {
	l := o.cur
	if l == nil || o.closed || (snap == nil && o.sent == len(o.log)) {
		return false
	}
	seq := o.seq
	pending := o.log[o.sent:]
	frames := o.direct[:0]
	for i := range pending {
		e := &pending[i]
		if e.seq == 0 {
			o.seq++
			e.seq = o.seq
			e.frame = binary.AppendUvarint(e.frame, SeqField<<3) // varint wire type 0
			e.frame = binary.AppendUvarint(e.frame, uint64(e.seq))
		}
		frames = append(frames, e.frame)
	}
	if snap != nil {
		frames = append(frames, snap)
	}
	ok := l.tryDirect(frames)
	clear(frames)
	o.direct = frames[:0]
	if ok {
		o.sent = len(o.log)
		return true
	}
	for i := range pending { // not sent: numbered by the Take that sends them
		if e := &pending[i]; e.seq > seq {
			e.seq = 0
			e.frame = e.frame[:e.body]
		}
	}
	o.seq = seq
	return false
}

// Push queues a reliable frame with policy Keep: PushPolicy(frame, Keep).
func (o *Outbox) Push(frame []byte) error { return o.PushPolicy(frame, Keep) }

// PushPolicy queues a copy of frame as a reliable frame; frame stays the
// caller's. The first link that takes it numbers it (appending field
// SeqField). It returns ErrFull when the unacknowledged frames are at
// their limit and the policies leave nothing to compact (a Bounded frame
// pushed while detached never gets ErrFull: the oldest unsent one is
// dropped instead), and ErrClosed after Close.
func (o *Outbox) PushPolicy(frame []byte, p Policy) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	e := entry{policy: p, body: len(frame)}
	if p == Latest {
		o.dropUnsent(func(old *entry) bool { return old.policy == Latest }, &o.superseded, -1)
	}
	detached := o.cur == nil
	cost := entryCost(&e)
	for len(o.log) >= o.lim.Frames || o.logBytes+cost > o.lim.Bytes {
		if !detached || o.dropUnsent(func(old *entry) bool { return old.policy == Bounded }, &o.heldDrops, 1) == 0 {
			if detached && p == Bounded {
				o.heldDrops.Add(1) // nothing older to drop: this one goes
				return nil
			}
			return ErrFull
		}
	}
	o.pushed++
	e.ord = o.pushed
	e.frame = make([]byte, 0, cost)
	e.frame = append(e.frame, frame...)
	o.log = append(o.log, e)
	o.logBytes += cost
	if detached {
		o.compactLocked()
	}
	o.signal()
	return nil
}

// unsentFrom is the index of the first entry no link has taken (and so
// not numbered); o.mu is held.
func (o *Outbox) unsentFrom() int {
	i := len(o.log)
	for i > 0 && o.log[i-1].seq == 0 {
		i--
	}
	return i
}

// dropUnsent removes up to limit (all when negative) of the oldest
// entries no link has taken that match, counting them in c, and returns
// how many it removed; o.mu is held.
func (o *Outbox) dropUnsent(match func(*entry) bool, c *atomic.Uint64, limit int) int {
	from := max(o.unsentFrom(), o.sent)
	kept, n := from, 0
	for i := from; i < len(o.log); i++ {
		e := &o.log[i]
		if (limit < 0 || n < limit) && match(e) {
			o.logBytes -= entryCost(e)
			n++
			continue
		}
		o.log[kept] = *e
		kept++
	}
	clear(o.log[kept:])
	o.log = o.log[:kept]
	c.Add(uint64(n))
	return n
}

// compactLocked bounds what a detached outbox keeps of the frames no client
// has seen: the newest Latest frame (Push keeps only one already) and the
// newest Limits.Held Bounded frames; o.mu is held.
func (o *Outbox) compactLocked() {
	n := 0
	for i := max(o.unsentFrom(), o.sent); i < len(o.log); i++ {
		if o.log[i].policy == Bounded {
			n++
		}
	}
	if n > o.lim.Held {
		o.dropUnsent(func(e *entry) bool { return e.policy == Bounded }, &o.heldDrops, n-o.lim.Held)
	}
}

// Compacted is how many reliable frames were dropped before any client saw
// them: Latest frames a newer one superseded, and Bounded frames dropped
// while the outbox was detached (for metrics).
func (o *Outbox) Compacted() (superseded, heldDropped uint64) {
	return o.superseded.Load(), o.heldDrops.Load()
}

// Seq is the sequence number of the newest reliable frame a link took
// (frames are numbered when first taken).
func (o *Outbox) Seq() uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seq
}

// Ack forgets the reliable frames up to seq: the client has processed them.
// An ack beyond what was handed to a link (numbered) is clipped to it.
func (o *Outbox) Ack(seq uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ackLocked(seq)
}

func (o *Outbox) ackLocked(seq uint32) {
	n := 0
	for n < len(o.log) && o.log[n].seq != 0 && o.log[n].seq <= seq {
		o.logBytes -= entryCost(&o.log[n])
		n++
	}
	if n == 0 {
		return
	}
	k := copy(o.log, o.log[n:])
	clear(o.log[k:])
	o.log = o.log[:k]
	o.sent = max(0, o.sent-n)
}

// Unacked is how many reliable frames wait for the client's
// acknowledgement (sent or not).
func (o *Outbox) Unacked() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.log)
}

// Attach makes l the link that drains the outbox, for a client that has
// processed every reliable frame up to lastSeq: those are forgotten, and
// every later one is handed to l again, in order, ahead of anything new.
// A pending snapshot is dropped (the next one is built from the client's
// newest acknowledgement). It returns the link that was attached before
// (nil if none); the caller closes it. Attaching to a closed outbox is
// allowed: l then gets what the outbox still holds, and its close.
func (o *Outbox) Attach(l *Link, lastSeq uint32) (previous *Link) {
	o.mu.Lock()
	defer o.mu.Unlock()
	previous = o.cur
	if previous == &o.spare {
		previous = nil
	}
	o.ackLocked(lastSeq) // what any link took and the client processed ...
	o.sent = 0           // ... is forgotten, and the rest is replayed
	o.hasSnap = false
	o.cur = l
	l.mu.Lock()
	l.o = o
	l.mu.Unlock()
	l.signal()
	return previous
}

// Detach leaves the outbox without a link if l is its current one: frames
// accumulate, compacted by their policies (and snapshots replace each
// other), until the next Attach.
func (o *Outbox) Detach(l *Link) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur == l {
		o.cur = nil
		o.compactLocked()
	}
}

// Attached reports whether a link drains the outbox.
func (o *Outbox) Attached() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cur != nil && o.cur != &o.spare
}

// Close stops the outbox taking frames: the session is over. A non-nil final
// frame (typically a fatal error) is handed to the current link after
// everything pending, past the limit; its writer writes them, then closes
// its transport, telling the peer reason in the transport's own terms (nil:
// a normal close). Close is idempotent; only the first call's frame and
// reason are kept.
func (o *Outbox) Close(final []byte, reason error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	o.reason = reason
	o.final = final
	close(o.done)
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

// Done is closed when Close is called.
func (o *Outbox) Done() <-chan struct{} { return o.done }

// Ready is signalled when frames are pending for the implicit link that Take
// drains, or the outbox closed. One signal may stand for many frames.
func (o *Outbox) Ready() <-chan struct{} { return o.spare.ready }

// Replaced is the number of snapshots dropped because a newer one replaced
// them before the writer took them (a slow reader, or a detached session).
func (o *Outbox) Replaced() uint64 { return o.replaced.Load() }

// Batch is what one Take hands the writer: every pending frame in the order
// it was queued, the newest snapshot standing where it was offered. A
// writer reuses one Batch; its slices stay valid until the next Take.
type Batch struct {
	Frames [][]byte
	snap   []byte // spare snapshot buffer swapped with the outbox's
}

// Take drains the outbox through its implicit link, for an outbox used
// without Attach (one consumer for its whole life, as in tests and
// benchmarks). It reports whether the outbox is closed.
func (o *Outbox) Take(b *Batch) (closed bool) { return o.spare.Take(b) }

// take appends to b what l may take: unsent reliable frames and the
// snapshot. It reports whether the outbox is closed (and then appends its
// final frame) and whether l is still attached.
func (o *Outbox) take(l *Link, b *Batch) (closed, attached bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur != l {
		return false, false
	}
	pending := o.log[o.sent:]
	o.sent = len(o.log)
	for i := range pending {
		if e := &pending[i]; e.seq == 0 {
			o.seq++
			e.seq = o.seq
			e.frame = binary.AppendUvarint(e.frame, SeqField<<3) // varint wire type 0
			e.frame = binary.AppendUvarint(e.frame, uint64(e.seq))
		}
	}
	if o.hasSnap {
		o.snap, b.snap = b.snap, o.snap
		o.hasSnap = false
		i := 0
		for i < len(pending) && pending[i].ord <= o.snapAt {
			i++
		}
		for _, e := range pending[:i] {
			b.Frames = append(b.Frames, e.frame)
		}
		b.Frames = append(b.Frames, b.snap)
		pending = pending[i:]
	}
	for _, e := range pending {
		b.Frames = append(b.Frames, e.frame)
	}
	if o.closed {
		if o.final != nil {
			b.Frames = append(b.Frames, o.final)
			o.final = nil
		}
		return true, true
	}
	return false, true
}

// Pending reports how many frames a Take would return now.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.log) - o.sent
	if o.hasSnap {
		n++
	}
	return n
}

// DefaultLinkLimit bounds a link's own queue (handshake replies,
// heartbeats).
const DefaultLinkLimit = 16

// Link is one transport's view of an outbox: what its writer drains. Besides
// the outbox's frames it carries frames of its own that belong to this
// connection only and are never replayed (the handshake reply, heartbeats,
// a fatal error that ends only this connection), written before the
// outbox's. A link is closed once; its writer then writes what it holds and
// closes the transport. Safe for concurrent use by producers and one
// writer.
type Link struct {
	ready chan struct{} // capacity 1
	done  chan struct{} // closed by Close

	mu      sync.Mutex // guards the fields below; taken after Outbox.mu
	o       *Outbox
	own     [][]byte
	ownSwap [][]byte
	closed  bool
	reason  error
	final   []byte
	dropped uint64 // own frames refused because the queue was full
	direct  func(frames [][]byte) bool

	taken, takenBytes atomic.Uint64 // frames handed to the writer, and their bytes
}

// SetDirect gives the link a way to write frames at once, from the
// producer's goroutine, when the link holds nothing of its own: write gets
// the frames in order, must not block, must copy or finish with them
// before it returns, and reports false when it could not take them (they
// are then queued for the writer as usual); once it reports true, every
// frame is its to deliver. A WebSocket uses it to write a member's
// reliable frames and snapshot of a tick in one system call, sparing its
// writer goroutine a wake-up. Call it before the link is attached.
func (l *Link) SetDirect(write func(frames [][]byte) bool) {
	l.mu.Lock()
	l.direct = write
	l.mu.Unlock()
}

// tryDirect writes frames through the direct path when the link has one
// and holds nothing of its own. Called with the outbox's mutex held, so no
// frame of the outbox can overtake them.
func (l *Link) tryDirect(frames [][]byte) bool {
	l.mu.Lock()
	ok := l.direct != nil && !l.closed && len(l.own) == 0 && l.direct(frames)
	l.mu.Unlock()
	if ok {
		n := 0
		for _, f := range frames {
			n += len(f)
		}
		l.taken.Add(uint64(len(frames)))
		l.takenBytes.Add(uint64(n))
	}
	return ok
}

// NewLink returns a link attached to nothing yet.
func NewLink() *Link {
	l := &Link{}
	l.init()
	return l
}

func (l *Link) init() {
	l.ready = make(chan struct{}, 1)
	l.done = make(chan struct{})
}

func (l *Link) signal() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled when the link has something to take or closed.
func (l *Link) Ready() <-chan struct{} { return l.ready }

// Wake signals the link's writer, for work the transport itself owes
// (the rest of a direct write).
func (l *Link) Wake() { l.signal() }

// Done is closed when the link is closed.
func (l *Link) Done() <-chan struct{} { return l.done }

// Send queues a frame of this connection's own, written before the
// outbox's pending frames; the link owns frame from then on. It reports
// false (and counts the drop) when the link is closed or holds
// DefaultLinkLimit frames already: these frames are not reliable.
func (l *Link) Send(frame []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.own) >= DefaultLinkLimit {
		l.dropped++
		return false
	}
	l.own = append(l.own, frame)
	l.signal()
	return true
}

// Close ends this connection only: the writer writes the link's own frames
// and final (if not nil), then closes the transport with reason. The
// outbox, if any, is detached and keeps its frames for the next link.
// Idempotent: the first call's frame and reason are kept.
func (l *Link) Close(final []byte, reason error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed, l.reason, l.final = true, reason, final
	o := l.o
	close(l.done)
	l.signal()
	l.mu.Unlock()
	if o != nil {
		o.Detach(l)
	}
}

// Closed reports whether Close was called.
func (l *Link) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Reason is why the link's transport closes: the reason given to the
// link's Close, else the outbox's (nil for a normal close).
func (l *Link) Reason() error {
	l.mu.Lock()
	closed, reason, o := l.closed, l.reason, l.o
	l.mu.Unlock()
	if closed || o == nil {
		return reason
	}
	return o.Reason()
}

// Outbox is the outbox the link is or was attached to (nil if none).
func (l *Link) Outbox() *Outbox {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.o
}

// Take moves everything the link may write now into b, replacing what b
// held: the link's own frames, then (while it is its outbox's current link)
// the outbox's frames in queue order. It reports whether the transport must
// close after writing them: the link or its outbox closed, or another link
// took the outbox over.
func (l *Link) Take(b *Batch) (closed bool) {
	defer l.count(b)
	clear(b.Frames)
	b.Frames = b.Frames[:0]
	l.mu.Lock()
	own := l.own
	l.own = l.ownSwap[:0]
	l.ownSwap = own
	o, lclosed, final := l.o, l.closed, l.final
	l.final = nil
	l.mu.Unlock()
	b.Frames = append(b.Frames, own...)
	clear(own)
	if lclosed {
		if final != nil {
			b.Frames = append(b.Frames, final)
		}
		return true
	}
	if o == nil {
		return false
	}
	oclosed, attached := o.take(l, b)
	if oclosed {
		l.Close(nil, o.Reason())
		return true
	}
	if !attached {
		l.Close(nil, ErrReplaced)
		return true
	}
	return false
}

// ErrReplaced is the reason of a link whose outbox was attached to another
// link.
var ErrReplaced = errors.New("outbox: another connection took over")

// Taken is how many frames, and how many bytes, the link's writer has taken
// so far (for metrics).
func (l *Link) Taken() (frames, bytes uint64) { return l.taken.Load(), l.takenBytes.Load() }

func (l *Link) count(b *Batch) {
	if len(b.Frames) == 0 {
		return
	}
	n := 0
	for _, f := range b.Frames {
		n += len(f)
	}
	l.taken.Add(uint64(len(b.Frames)))
	l.takenBytes.Add(uint64(n))
}

// Resync forgets the frames numbered up to lastSeq and, when lastSeq is
// past the last number given out, continues the numbering after it: for a
// session restored from a checkpoint whose client processed frames of a
// server that crashed after it (those frames are gone; new ones must not
// look like repeats to the client).
func (o *Outbox) Resync(lastSeq uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ackLocked(lastSeq)
	o.seq = max(o.seq, lastSeq)
}

// State is what an outbox holds for its client: the reliable frames not
// acknowledged, in order, and the sequence numbering. Export and Import
// carry a session's delivery to another outbox (another server).
type State struct {
	// Seq is the last sequence number given out.
	Seq uint32
	// Frames are the frames not acknowledged, numbered ones first.
	Frames []Frame
}

// Frame is one reliable frame of a State.
type Frame struct {
	// Seq is its sequence number; 0 while no link has taken it.
	Seq    uint32
	Policy Policy
	// Body is the frame as pushed (without the sequence number).
	Body []byte
}

// Export copies what the outbox holds for its client. Frames pushed after
// it are not in it: the caller stops the producers first.
func (o *Outbox) Export() State {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := State{Seq: o.seq, Frames: make([]Frame, len(o.log))}
	for i := range o.log {
		e := &o.log[i]
		st.Frames[i] = Frame{Seq: e.seq, Policy: e.policy, Body: append([]byte(nil), e.frame[:e.body]...)}
	}
	return st
}

// ErrState means an imported State is not one Export could have made:
// sequence numbers out of order, or over the outbox's limits.
var ErrState = errors.New("outbox: invalid state")

// Import makes a new outbox with lim's bounds holding st, so a link
// attached to it replays the frames after the client's last_seq with the
// numbers they had. It copies the frames.
func Import(lim Limits, st State) (*Outbox, error) {
	o := NewLimits(lim)
	if len(st.Frames) > o.lim.Frames {
		return nil, ErrState
	}
	prev, numbered := uint32(0), true
	for _, f := range st.Frames {
		switch {
		case f.Seq == 0:
			numbered = false
		case !numbered, f.Seq > st.Seq, prev != 0 && f.Seq != prev+1:
			return nil, ErrState
		}
		if f.Seq != 0 {
			prev = f.Seq
		}
		if f.Policy > Bounded {
			return nil, ErrState
		}
		e := entry{seq: f.Seq, policy: f.Policy, body: len(f.Body)}
		cost := entryCost(&e)
		if o.logBytes+cost > o.lim.Bytes {
			return nil, ErrState
		}
		o.pushed++
		e.ord = o.pushed
		e.frame = make([]byte, 0, cost)
		e.frame = append(e.frame, f.Body...)
		if e.seq != 0 {
			e.frame = binary.AppendUvarint(e.frame, SeqField<<3)
			e.frame = binary.AppendUvarint(e.frame, uint64(e.seq))
		}
		o.log = append(o.log, e)
		o.logBytes += cost
	}
	if prev != 0 && prev != st.Seq {
		return nil, ErrState
	}
	o.seq = st.Seq
	return o, nil
}

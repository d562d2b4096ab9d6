package room

import (
	"context"
	"errors"
	"time"

	"github.com/arenaserver/arena/netcode/outbox"
)

// ErrMoved is the reason a room closes after its match was handed to
// another server (Frozen.Release): its members are not told anything by
// the room; the server moving them tells them where to go.
var ErrMoved = errors.New("room: moved to another server")

// MaxFreeze bounds how long a frozen room waits for Thaw or Release: past
// it the room thaws by itself and ticks on, so a hand-off that lost its
// way never stops a match for good.
const MaxFreeze = 10 * time.Second

// Frozen is a room stopped between two ticks for a hand-off: its match is
// saved, its goroutine waits, and nothing reaches its members until Thaw
// (the room ticks on, skipping the ticks it missed) or Release (the room
// closes with ErrMoved, telling its members nothing). Exactly one of them
// should be called; later calls are ignored.
type Frozen struct {
	// Saved is the room as Save writes it, taken at Tick, after the
	// room's pending events were handled and a snapshot of Tick was
	// offered to every member.
	Saved []byte
	// Tick is the tick the room stopped at.
	Tick uint32
	// Members are the room's members in the order Saved lists them (the
	// order RestoreWith hands them back).
	Members []*Member

	decide chan bool // true: release; false: thaw; capacity 1
}

// Thaw lets the room tick on.
func (f *Frozen) Thaw() {
	select {
	case f.decide <- false:
	default:
	}
}

// Release closes the room for good with ErrMoved. It does not wait; see
// Room.Done.
func (f *Frozen) Release() {
	select {
	case f.decide <- true:
	default:
	}
}

// Freeze stops the room between two ticks and saves it. The tick's
// pending member events are handled first (their replies are in the
// members' outboxes), and every member is offered a snapshot of the tick
// the room stops at, so a client that decodes it holds the very state the
// restored room starts from (a delta baseline after the move).
func (r *Room) Freeze(ctx context.Context) (*Frozen, error) {
	f := &Frozen{decide: make(chan bool, 1)}
	type result struct{ err error }
	ch := make(chan result, 1)
	if err := r.post(ctx, func() {
		r.handleEvents()
		tick := r.ctx.Tick()
		if tick != 0 && r.hist.newestTick() != tick {
			r.snapshot(tick)
		}
		var err error
		f.Saved, err = r.save(nil)
		f.Tick = tick
		for _, m := range r.members {
			if !m.removed {
				f.Members = append(f.Members, m)
			}
		}
		ch <- result{err}
		if err != nil {
			return
		}
		t := time.NewTimer(MaxFreeze)
		defer t.Stop()
		select {
		case release := <-f.decide:
			r.released = release
		case <-t.C:
			r.log.Warn("room frozen too long; ticking on", "after", MaxFreeze)
		case <-r.stop:
		}
	}); err != nil {
		return nil, err
	}
	select {
	case res := <-ch:
		if res.err != nil {
			return nil, res.err
		}
		return f, nil
	case <-r.done:
		return nil, ErrClosed
	case <-ctx.Done():
		// The request may still run: whatever it froze thaws by itself
		// within MaxFreeze; thaw it now.
		f.Thaw()
		return nil, ctx.Err()
	}
}

// Wiring connects a restored member to the session that takes it over.
type Wiring struct {
	// Out receives the member's frames from now on (the session's outbox);
	// nil keeps an outbox of the member's own.
	Out *outbox.Outbox
	// OnRemoved is as in JoinRequest.
	OnRemoved func(reason error)
}

// RestoreWith is Restore for a hand-off: wire is called for each saved
// member, in order, before the room starts, and says where its frames go.
// Members keep the held state they were saved with (a moved client
// resumes within moments). The room's snapshot history is seeded with the
// state of the tick it was saved at, so a client that holds that state
// (Frozen's last snapshot) gets deltas from it at once.
func RestoreWith(id string, cfg Config, saved []byte, onClose func(*Room), wire func(i int, m *Member) Wiring) (*Room, error) {
	r, err := restore(id, cfg, saved, onClose)
	if err != nil {
		return nil, err
	}
	for i, m := range r.members {
		m.held = m.savedHeld
		if wire == nil {
			continue
		}
		w := wire(i, m)
		if w.Out != nil {
			m.out = w.Out
		}
		m.onRemoved = w.OnRemoved
	}
	r.seed()
	r.start()
	return r, nil
}

// seed records the match's replicated state at the current tick in the
// history, with what each member sees of it, without sending anything.
func (r *Room) seed() {
	tick := r.ctx.Tick()
	if tick == 0 {
		return
	}
	target, slot := r.hist.slot()
	target.Tick = tick
	r.match.Replicate(target)
	r.hist.push()
	if r.viewer == nil {
		return
	}
	for _, m := range r.members {
		vis := &m.vis[slot]
		vis.Reset(target)
		r.viewer.Visible(target, m.player, vis)
		m.seen[slot] = seen{tick: tick, hash: vis.Hash()}
	}
}

// Resync makes the member's next batch of inputs set where its input
// numbers continue, for a room restored from a checkpoint whose client
// went on (with a server that crashed) past it: inputs numbered before the
// batch's first are then skipped, never waited for. Call it before the
// member's first Submit.
func (m *Member) Resync() {
	m.inputs.mu.Lock()
	m.inputs.resync = true
	m.inputs.mu.Unlock()
}

// InputHigh is the highest input sequence number the room applied or holds
// queued for the member: a later input with this number or below is a
// resend.
func (m *Member) InputHigh() uint32 {
	q := &m.inputs
	q.mu.Lock()
	defer q.mu.Unlock()
	high := q.applied
	for _, p := range q.pending[:q.n] {
		high = max(high, p.seq)
	}
	return high
}

// Checkpoint saves the room between two ticks, as Save does, and calls fn
// with the saved bytes and the members in their saved order, on the room
// goroutine: fn should be quick (the room waits for it) and must not call
// the room. Unlike Freeze it changes nothing: no extra snapshot, pending
// events stay for their tick.
func (r *Room) Checkpoint(ctx context.Context, fn func(saved []byte, tick uint32, members []*Member)) error {
	ch := make(chan error, 1)
	if err := r.post(ctx, func() {
		b, err := r.save(nil)
		if err == nil {
			var ms []*Member
			for _, m := range r.members {
				if !m.removed {
					ms = append(ms, m)
				}
			}
			fn(b, r.ctx.Tick(), ms)
		}
		ch <- err
	}); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

package room

import (
	"errors"
	"slices"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
)

// rosters is what the room goroutine keeps to send roster changes at
// most once a tick: joins and leaves only mark the roster dirty, and the
// next tick sends one Roster (before its snapshot) if the player list
// differs from the one last sent. A newcomer gets the roster even when it
// did not change (a spectator's join changes no player list). Roster frames
// are pushed with policy outbox.Latest: one not yet written is replaced by
// the next, so a member away (or slow) holds at most one.
type rosters struct {
	dirty     bool
	newcomers []*Member
	ids, sent []uint32 // scratch of the list being built; the list last sent
	names     []string
	sentNames []string
	everSent  bool
	frames    uint64 // roster frames pushed, one per member reached
}

// rosterChanged marks the roster for the next flush; room goroutine.
func (r *Room) rosterChanged() { r.rosterState.dirty = true }

// rosterTo marks the roster for the next flush and makes sure m gets it.
func (r *Room) rosterTo(m *Member) {
	r.rosterState.dirty = true
	r.rosterState.newcomers = append(r.rosterState.newcomers, m)
}

// flushRoster sends the pending roster change, if any; room goroutine.
// Members that cannot take it are cut as slow consumers.
func (r *Room) flushRoster() {
	st := &r.rosterState
	if !st.dirty {
		return
	}
	st.dirty = false
	st.ids, st.names = st.ids[:0], st.names[:0]
	for _, m := range r.members {
		if !m.spectator {
			st.ids = append(st.ids, uint32(m.player))
			st.names = append(st.names, m.name)
		}
	}
	changed := !st.everSent || !slices.Equal(st.ids, st.sent) || !slices.Equal(st.names, st.sentNames)
	to := r.members
	if !changed {
		to = st.newcomers
	}
	if changed {
		st.everSent = true
		st.sent = append(st.sent[:0], st.ids...)
		st.sentNames = append(st.sentNames[:0], st.names...)
		r.publishRoster(st.names)
	}
	if len(to) > 0 {
		r.pushRoster(to, netcode.AppendRosterFrame(nil, st.ids, st.names))
	}
	clear(st.newcomers)
	st.newcomers = st.newcomers[:0]
}

// pushRoster pushes a roster frame to members still in the room. A member
// whose queue is full is removed and its connection closed as a slow
// consumer.
func (r *Room) pushRoster(to []*Member, frame []byte) {
	slow := false
	for _, m := range to {
		if m.removed {
			continue
		}
		r.rosterState.frames++
		if err := m.out.PushPolicy(frame, outbox.Latest); errors.Is(err, outbox.ErrFull) {
			r.cutSlow(m)
			slow = true
		}
	}
	if slow {
		r.sweep(ErrSlowConsumer)
	}
}

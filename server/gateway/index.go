package gateway

import "sync"

// roomIndex is which sessions sit in which room of this server, so that
// room-scoped delivery (EmitRoom, chat) walks the members of one room, not
// every session of the server: its cost does not grow with the sessions
// elsewhere. A seat is added once the join succeeded and removed when the
// session leaves, ends or the room drops it (seat.gone); EmitRoom still
// checks each member's seat, so a stale entry costs a check, never a
// wrong delivery. Safe for concurrent use; its lock is its own.
type roomIndex struct {
	mu    sync.Mutex
	rooms map[string]map[*session]*seat
	where map[*seat]string // the room of each indexed seat
}

// add indexes seat st of session s in room roomID, unless the room has
// already dropped it.
func (x *roomIndex) add(roomID string, s *session, st *seat) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if st.gone.Load() {
		return // OnRemoved ran first: its remove found nothing to remove
	}
	if x.rooms == nil {
		x.rooms, x.where = map[string]map[*session]*seat{}, map[*seat]string{}
	}
	m := x.rooms[roomID]
	if m == nil {
		m = map[*session]*seat{}
		x.rooms[roomID] = m
	}
	m[s] = st
	x.where[st] = roomID
}

// remove forgets seat st (of session s), if indexed.
func (x *roomIndex) remove(s *session, st *seat) {
	if st == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	roomID, ok := x.where[st]
	if !ok {
		return
	}
	delete(x.where, st)
	m := x.rooms[roomID]
	if m[s] == st {
		delete(m, s)
	}
	if len(m) == 0 {
		delete(x.rooms, roomID)
	}
}

// members appends the sessions indexed in room roomID to dst.
func (x *roomIndex) members(roomID string, dst []*session) []*session {
	x.mu.Lock()
	defer x.mu.Unlock()
	for s := range x.rooms[roomID] {
		dst = append(dst, s)
	}
	return dst
}

// size is how many seats are indexed (tests).
func (x *roomIndex) size() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.where)
}

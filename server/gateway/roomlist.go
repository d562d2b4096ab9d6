package gateway

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// listCache keeps the answer to ListRooms, rebuilt at most every
// Limits.ListEvery, or sooner when a room of this server opened or closed
// (both are budgeted): whoever asks in between gets the same bytes, so the
// cost of a flood of ListRooms is one list per interval plus a copy per
// request, whatever the number of rooms. Player counts in it may be up to
// ListEvery old. A RoomList carries at most Limits.MaxListedRooms rooms.
type listCache struct {
	mu  sync.Mutex // held by the one goroutine rebuilding
	cur atomic.Pointer[listed]
}

// listed is one published list: a ServerMessage{room_list} encoded
// without its request_id, never modified.
type listed struct {
	at    time.Time
	gen   uint64 // the lobby's Generation it was built at
	frame []byte
	rooms int
}

// requestIDTag is the protobuf key of ServerMessage.request_id (field 15,
// varint): appended to an encoded message, it sets the field.
const requestIDTag = 15 << 3

// roomListFrame returns the answer to ListRooms request rid: the current
// list, rebuilt first when it is older than ListEvery. While one goroutine
// rebuilds, others get the previous list.
func (s *Server) roomListFrame(rid uint32) []byte {
	l := s.currentList()
	frame := make([]byte, 0, len(l.frame)+binary.MaxVarintLen32+1)
	frame = append(frame, l.frame...)
	if rid != 0 {
		frame = binary.AppendUvarint(frame, requestIDTag)
		frame = binary.AppendUvarint(frame, uint64(rid))
	}
	return frame
}

func (s *Server) currentList() *listed {
	c := &s.list
	l := c.cur.Load()
	if s.fresh(l) {
		return l
	}
	if l != nil && !c.mu.TryLock() {
		return l // someone is rebuilding it: this one is recent enough
	}
	if l == nil {
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if l := c.cur.Load(); s.fresh(l) {
		return l // rebuilt while this one waited
	}
	gen := s.lobby.Generation()
	list := s.buildRoomList()
	l = &listed{at: time.Now(), gen: gen, rooms: len(list.Rooms),
		frame: netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_RoomList{RoomList: list}})}
	c.cur.Store(l)
	return l
}

// fresh reports whether list l may answer now.
func (s *Server) fresh(l *listed) bool {
	return l != nil && time.Since(l.at) < s.cfg.Limits.ListEvery && l.gen == s.lobby.Generation()
}

// buildRoomList lists this server's rooms, and with a fleet every room of
// every live server (this server's only while the directory is
// unreachable), keeping at most MaxListedRooms: those with a free seat and
// the most players. The list is sorted by id.
func (s *Server) buildRoomList() *sessionpb.RoomList {
	var rooms []*sessionpb.RoomInfo
	if s.cfg.Fleet == nil {
		for _, info := range s.lobby.List() {
			rooms = append(rooms, info.Proto())
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.JoinTimeout)
		defer cancel()
		fleetRooms, _ := s.cfg.Fleet.Rooms(ctx) // on error: this server's rooms, still worth listing
		for _, r := range fleetRooms {
			info := &sessionpb.RoomInfo{Id: r.ID, Players: uint32(r.Players), Capacity: uint32(r.Capacity),
				Tick: r.Tick, Address: r.Addr, Mode: r.Mode, Game: r.Mode}
			if lr := s.lobby.Room(r.ID); lr != nil {
				info.Game = lr.Game().Name // another server's rooms play its mode
			}
			rooms = append(rooms, info)
		}
	}
	if max := s.cfg.Limits.MaxListedRooms; len(rooms) > max {
		slices.SortFunc(rooms, func(a, b *sessionpb.RoomInfo) int {
			af, bf := a.Players < a.Capacity, b.Players < b.Capacity
			if af != bf {
				if af {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(b.Players, a.Players); c != 0 {
				return c
			}
			return cmp.Compare(a.Id, b.Id)
		})
		clear(rooms[max:])
		rooms = rooms[:max]
	}
	slices.SortFunc(rooms, func(a, b *sessionpb.RoomInfo) int { return cmp.Compare(a.Id, b.Id) })
	return &sessionpb.RoomList{Rooms: rooms}
}

package lobby

import (
	"context"
	"errors"

	"github.com/arenaserver/arena/server/room"
)

// JoinOpen seats req in the room with id like Join; when no room has that
// id and capacity is positive, it first opens one with that id and
// capacity (a room the fleet's directory placed on this server before it
// existed), of the default game: a fleet places rooms of its mode, the
// game its servers host first.
func (l *Lobby) JoinOpen(ctx context.Context, id string, capacity int, req room.JoinRequest) (*room.Member, error) {
	return l.JoinOpenFor(ctx, "", id, capacity, req)
}

// JoinOpenFor is JoinOpen where a room it opens is owner's (see CreateFor).
func (l *Lobby) JoinOpenFor(ctx context.Context, owner, id string, capacity int, req room.JoinRequest) (*room.Member, error) {
	if capacity > 0 {
		l.mu.Lock()
		if !l.closed && l.rooms[id] == nil {
			if err := l.ownerMayOpenLocked(owner); err != nil {
				l.mu.Unlock()
				return nil, err
			}
			if len(l.rooms) < l.cfg.MaxRooms {
				if _, err := l.openLocked(owner, id, l.cfg.Games[0], capacity); err != nil {
					l.mu.Unlock()
					return nil, err
				}
			}
		}
		full := l.rooms[id] == nil && len(l.rooms) >= l.cfg.MaxRooms
		l.mu.Unlock()
		if full {
			return nil, ErrTooManyRooms
		}
	}
	return l.Join(ctx, id, req)
}

// Adopt opens room id from a saved match of the named game (a hand-off
// from another server, room.RestoreWith with wire) and lists it here. It
// fails with ErrClosed while draining, ErrTooManyRooms, ErrUnknownGame, or
// when a room with that id is open here already (ErrExists).
func (l *Lobby) Adopt(id, gameName string, saved []byte, wire func(i int, m *room.Member) room.Wiring) (*room.Room, error) {
	g, err := l.game(gameName)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, ErrClosed
	case len(l.rooms) >= l.cfg.MaxRooms:
		return nil, ErrTooManyRooms
	case l.rooms[id] != nil:
		return nil, ErrExists
	}
	cfg := l.cfg.Room
	cfg.Game = g
	r, err := room.RestoreWith(id, cfg, saved, l.forget, wire)
	if err != nil {
		return nil, err
	}
	l.rooms[id] = r
	l.gen.Add(1)
	return r, nil
}

// ErrExists means a room with the id is open here already.
var ErrExists = errors.New("lobby: a room with this id is open here")

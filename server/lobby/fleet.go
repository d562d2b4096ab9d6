package lobby

import (
	"context"

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

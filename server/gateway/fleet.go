package gateway

import (
	"context"
	"errors"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/fleet"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
)

// Directory is what the gateway needs of a fleet's shared room directory
// (fleet.Node implements it). Its methods are safe for concurrent use.
type Directory interface {
	// Rooms lists every room of the fleet, this server's included; when
	// the directory is unreachable it returns this server's rooms and an
	// error.
	Rooms(ctx context.Context) ([]fleet.Room, error)
	// Place decides where a join goes: here, or another server with a
	// reservation.
	Place(ctx context.Context, w fleet.Want) (fleet.Placement, error)
	// Redeem spends a reservation made for a room of this server.
	Redeem(ctx context.Context, roomID, reservation string) (fleet.Ticket, error)
	// Settle says a reserved seat's join here is over.
	Settle(roomID, reservation string)
	// Broadcast sends an event to every session of the other servers.
	Broadcast(name string, payload []byte)
}

// place seats a join here, or (with a fleet) answers with the redirect to
// the server that hosts the room chosen.
func (s *session) place(ctx context.Context, j *sessionpb.JoinRoom, req room.JoinRequest) (*room.Member, *sessionpb.Redirect, error) {
	dir, lob, id := s.srv.cfg.Fleet, s.srv.lobby, j.GetRoomId()
	if dir == nil || (id == "" && j.GetSpectate()) || (id == "" && j.GetGame() != "" && j.GetGame() != lob.Games()[0]) {
		// Alone, quick spectating (which stays on this server), or a quick
		// join of a game other than the fleet's mode (placed here).
		m, err := s.joinHere(ctx, id, j.GetGame(), req)
		return m, nil, err
	}
	if res := j.GetReservation(); res != "" {
		t, err := dir.Redeem(ctx, id, res)
		if err != nil {
			return nil, nil, err
		}
		req.Spectate = t.Spectate
		capacity := 0
		if t.Create {
			capacity = t.Capacity
		}
		m, err := lob.JoinOpenFor(ctx, s.ip, t.RoomID, capacity, req)
		if !t.Spectate {
			dir.Settle(t.RoomID, res)
		}
		return m, nil, err
	}
	want := fleet.Want{RoomID: id, Spectate: j.GetSpectate(), LocalOnly: !s.redirects}
	var err error
	for range 3 {
		var p fleet.Placement
		p, err = dir.Place(ctx, want)
		if errors.Is(err, fleet.ErrUnavailable) || (id == "" && errors.Is(err, fleet.ErrNoServer)) {
			// No directory, or none of its servers takes players (this one
			// missed a heartbeat, or is draining): this server decides.
			if id != "" && lob.Room(id) == nil {
				return nil, nil, err // maybe another server's: the directory would know
			}
			m, err := s.joinHere(ctx, id, j.GetGame(), req)
			return m, nil, err
		}
		if err != nil {
			return nil, nil, err
		}
		if !p.Local {
			return nil, &sessionpb.Redirect{Address: p.Addr, RoomId: p.RoomID, Reservation: p.Reservation,
				ExpiresMs: uint64(p.Expires.UnixMilli()), Spectate: p.Spectate}, nil
		}
		capacity := 0
		if p.Create {
			capacity = p.Capacity
		}
		m, err := lob.JoinOpenFor(ctx, s.ip, p.RoomID, capacity, req)
		if !p.Spectate {
			dir.Settle(p.RoomID, p.Reservation)
		}
		if err == nil || id != "" || !(errors.Is(err, room.ErrFull) || errors.Is(err, lobby.ErrNotFound)) {
			return m, nil, err
		}
		// A quick join whose room filled or closed under it: place it again.
	}
	return nil, nil, err
}

// joinHere seats a join in this server's rooms only (a quick join in a
// room of the named game, "" for the default).
func (s *session) joinHere(ctx context.Context, id, gameName string, req room.JoinRequest) (*room.Member, error) {
	if id != "" {
		return s.srv.lobby.Join(ctx, id, req)
	}
	return s.srv.lobby.QuickJoinFor(ctx, s.ip, gameName, req)
}

// fleetError maps the fleet's errors to the wire (wireError calls it); nil
// for other errors.
func fleetError(err error) *netcode.Error {
	switch {
	case errors.Is(err, fleet.ErrNotFound):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, "no such room in the fleet")
	case errors.Is(err, fleet.ErrElsewhere):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND,
			"%v; this client does not follow redirects (Hello.follows_redirects)", err)
	case errors.Is(err, fleet.ErrFull):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ROOM_FULL, "room is full")
	case errors.Is(err, fleet.ErrNoServer):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_SERVER_FULL, "no server of the fleet takes players now")
	case errors.Is(err, fleet.ErrReservationInvalid):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_RESERVATION_INVALID, "reservation not valid for this room on this server")
	case errors.Is(err, fleet.ErrReservationUsed):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_RESERVATION_USED, "reservation already used")
	case errors.Is(err, fleet.ErrReservationExpired):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_RESERVATION_EXPIRED, "reservation expired")
	case errors.Is(err, fleet.ErrUnavailable):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_FLEET_UNAVAILABLE, "the fleet's room directory is unreachable; retry")
	}
	return nil
}

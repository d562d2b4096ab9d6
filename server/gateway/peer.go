package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"unicode/utf8"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
	"github.com/arenaserver/arena/sim"
)

// maxInputsPerBatch bounds one InputBatch: the newest input plus a few
// unacknowledged ones resent.
const maxInputsPerBatch = 32

// peer is one connected client, whatever its transport. Frame runs on the
// transport's read goroutine; the room may clear the seat from its own.
type peer struct {
	srv     *Server
	out     *outbox.Outbox
	seat    atomic.Pointer[seat]
	display atomic.Pointer[string] // the name, for other goroutines (admin views, tests)

	// Owned by the read goroutine.
	hello  bool
	name   string
	msg    arenapb.ClientMessage
	inputs []sim.Input
}

// seat is one membership; gone turns true when the room drops it.
type seat struct {
	m    *room.Member
	gone atomic.Bool
}

func (p *peer) member() *room.Member {
	if s := p.seat.Load(); s != nil && !s.gone.Load() {
		return s.m
	}
	return nil
}

// Frame handles one client frame. It returns a *netcode.Error for fatal
// problems, after queuing the error frame as the outbox's last.
func (p *peer) Frame(data []byte) error {
	if err := netcode.DecodeClient(data, &p.msg); err != nil {
		if errors.Is(err, netcode.ErrUnknownMessage) {
			return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type"))
		}
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_MALFORMED, "frame is not a ClientMessage"))
	}
	rid := p.msg.RequestId
	if hello, ok := p.msg.Body.(*arenapb.ClientMessage_Hello); ok {
		return p.handshake(rid, hello.Hello)
	}
	if !p.hello {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_HANDSHAKE, "the first message must be Hello"))
	}
	switch b := p.msg.Body.(type) {
	case *arenapb.ClientMessage_Inputs:
		return p.submit(b.Inputs)
	case *arenapb.ClientMessage_Ping:
		return p.reply(&arenapb.ServerMessage{RequestId: rid, Body: &arenapb.ServerMessage_Pong{Pong: &arenapb.Pong{Time: b.Ping.GetTime()}}})
	case *arenapb.ClientMessage_ListRooms:
		list := &arenapb.RoomList{}
		for _, info := range p.srv.lobby.List() {
			list.Rooms = append(list.Rooms, info.Proto())
		}
		return p.reply(&arenapb.ServerMessage{RequestId: rid, Body: &arenapb.ServerMessage_RoomList{RoomList: list}})
	case *arenapb.ClientMessage_CreateRoom:
		capacity := b.CreateRoom.GetCapacity()
		if capacity > uint32(p.srv.cfg.MaxRoomSize) {
			return p.refuse(rid, netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_BAD_REQUEST, "capacity %d above the server's limit of %d", capacity, p.srv.cfg.MaxRoomSize))
		}
		r, err := p.srv.lobby.Create(int(capacity))
		if err != nil {
			return p.refuse(rid, wireError(err))
		}
		return p.reply(&arenapb.ServerMessage{RequestId: rid, Body: &arenapb.ServerMessage_RoomCreated{RoomCreated: &arenapb.RoomCreated{Room: r.Info().Proto()}}})
	case *arenapb.ClientMessage_JoinRoom:
		return p.join(rid, b.JoinRoom)
	case *arenapb.ClientMessage_LeaveRoom:
		m := p.member()
		if m == nil {
			return p.refuse(rid, netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_NOT_IN_ROOM, "not in a room"))
		}
		p.seat.Store(nil)
		m.LeaveWithReply(rid)
		return nil
	}
	return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type"))
}

func (p *peer) handshake(rid uint32, h *arenapb.Hello) error {
	if p.hello {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_HANDSHAKE, "Hello sent twice"))
	}
	if v := h.GetProtocolVersion(); v != netcode.ProtocolVersion {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_PROTOCOL_VERSION,
			"server speaks protocol version %d, client sent %d", netcode.ProtocolVersion, v))
	}
	name := h.GetName()
	if name == "" {
		name = "player"
	}
	if len(name) > 24 || !utf8.ValidString(name) {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_HANDSHAKE, "name must be 1..24 bytes of UTF-8"))
	}
	p.hello, p.name = true, name
	p.display.Store(&name)
	return p.reply(&arenapb.ServerMessage{RequestId: rid, Body: &arenapb.ServerMessage_Welcome{Welcome: &arenapb.Welcome{
		ProtocolVersion: netcode.ProtocolVersion, TickRate: p.srv.cfg.TickRate, SnapshotRate: p.srv.cfg.SnapshotRate,
		Server: p.srv.cfg.ServerName,
	}}})
}

func (p *peer) join(rid uint32, j *arenapb.JoinRoom) error {
	if p.member() != nil {
		return p.refuse(rid, netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_ALREADY_IN_ROOM, "already in a room; leave first"))
	}
	s := &seat{}
	req := room.JoinRequest{
		Name: p.name, Spectate: j.GetSpectate(), RequestID: rid, Out: p.out,
		OnRemoved: func(error) { s.gone.Store(true) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.srv.cfg.JoinTimeout)
	defer cancel()
	var m *room.Member
	var err error
	if id := j.GetRoomId(); id != "" {
		m, err = p.srv.lobby.Join(ctx, id, req)
	} else {
		m, err = p.srv.lobby.QuickJoin(ctx, req)
	}
	if err != nil {
		return p.refuse(rid, wireError(err))
	}
	s.m = m
	p.seat.Store(s)
	return nil
}

// submit hands a batch of inputs to the room and records the ack. Inputs
// outside the game's range are dropped; the rest of the batch still counts.
func (p *peer) submit(b *arenapb.InputBatch) error {
	if len(b.Buttons) != len(b.Aim) {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_MALFORMED, "inputs: %d buttons but %d aims", len(b.Buttons), len(b.Aim)))
	}
	if len(b.Buttons) > maxInputsPerBatch {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_MALFORMED, "inputs: %d in one batch, at most %d", len(b.Buttons), maxInputsPerBatch))
	}
	m := p.member()
	if m == nil {
		return nil // inputs racing a leave or a room closing: nothing to apply them to
	}
	if t := b.GetAckTick(); t != 0 {
		m.Ack(t)
	}
	if len(b.Buttons) == 0 {
		return nil
	}
	p.inputs = p.inputs[:0]
	first := b.GetFirstSeq()
	last := len(b.Buttons) - 1
	for i, bt := range b.Buttons {
		if bt&^uint32(sim.ButtonsMask) != 0 || b.Aim[i] >= sim.AimSteps {
			// Out of range: submit what came before, skip this one.
			m.Submit(first, p.inputs)
			p.srv.rejectedInputs.Add(1)
			first += uint32(len(p.inputs)) + 1
			p.inputs = p.inputs[:0]
			continue
		}
		p.inputs = append(p.inputs, sim.Input{Buttons: sim.Buttons(bt), Aim: uint16(b.Aim[i]),
			ViewTick: viewTick(b.GetViewTick(), last-i)})
	}
	m.Submit(first, p.inputs)
	return nil
}

// viewTick is the view tick of the input back places before the newest of
// a batch whose newest was made at newest: one tick earlier per place (a
// client sends one input per tick). 0 stays 0 (unknown); the sim bounds
// how far a shot may rewind, whatever the client claims.
func viewTick(newest uint32, back int) uint32 {
	if newest <= uint32(back) {
		return 0
	}
	return newest - uint32(back)
}

// reply queues a frame for the client; a full queue cuts the client.
func (p *peer) reply(m *arenapb.ServerMessage) error {
	if err := p.out.Push(netcode.Marshal(m)); errors.Is(err, outbox.ErrFull) {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "too many replies queued"))
	}
	return nil
}

// refuse answers a request with a non-fatal error.
func (p *peer) refuse(rid uint32, e *netcode.Error) error {
	if e.Fatal {
		return p.fatal(e)
	}
	if err := p.out.Push(e.Frame(rid)); errors.Is(err, outbox.ErrFull) {
		return p.fatal(netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "too many replies queued"))
	}
	return nil
}

// fatal queues e as the last frame and returns it, which stops the reader.
func (p *peer) fatal(e *netcode.Error) error {
	p.srv.protocolErrors.Add(1)
	p.out.Close(e.Frame(0), e)
	return e
}

// Closed gives up the seat once the transport is gone.
func (p *peer) Closed(error) {
	if m := p.member(); m != nil {
		m.Leave()
	}
	p.out.Close(nil, nil)
}

// wireError maps lobby and room errors to the wire, in one place.
func wireError(err error) *netcode.Error {
	switch {
	case errors.Is(err, lobby.ErrNotFound):
		return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, "no such room")
	case errors.Is(err, room.ErrFull):
		return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_ROOM_FULL, "room is full")
	case errors.Is(err, lobby.ErrTooManyRooms):
		return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_SERVER_FULL, "server hosts as many rooms as it allows")
	case errors.Is(err, lobby.ErrClosed):
		return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "server is shutting down")
	case errors.Is(err, room.ErrConfig):
		return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_BAD_REQUEST, "%v", err)
	}
	return netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
}

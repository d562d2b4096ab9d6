package gateway

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"unicode/utf8"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// EventHandler handles a named event a client emitted. It runs on that
// client's read side (one event at a time per client, in order) and must
// not block for long. The returned payload answers a client that asked for
// an acknowledgement; a non-nil error answers it with Error{EVENT_FAILED}
// and the error's text.
type EventHandler func(ev *Event) (reply []byte, err error)

// Event is one event from a client. Payload is valid only during the
// handler's call.
type Event struct {
	Name    string
	Payload []byte
	From    *Player
}

// Player is game code's handle on one client's session: stable across
// reconnections, identity from the session (never from frames). Its
// methods are safe for concurrent use.
type Player struct{ s *session }

// Session is the session's id (hex).
func (p *Player) Session() string { return p.s.id.String() }

// Name is the display name given in Hello.
func (p *Player) Name() string { return p.s.name }

// RoomID is the room the player is in, or "".
func (p *Player) RoomID() string {
	if m := p.s.member(); m != nil {
		return m.Room().ID()
	}
	return ""
}

// PlayerID is the player's entity id in its room (0 outside a room or as a
// spectator).
func (p *Player) PlayerID() game.PlayerID {
	if m := p.s.member(); m != nil {
		return m.PlayerID()
	}
	return 0
}

// Connected reports whether a transport carries the session now (false
// while it is held).
func (p *Player) Connected() bool { return p.s.attached() }

// Emit sends a named event to this player, reliably and in order. While
// the player is disconnected (its session held) the newest events wait
// for its resume (outbox.DefaultHeld, 64; older ones are dropped and
// counted: the game's state is in the snapshot anyway). An error means the
// session has ended (or, for a connected player that does not keep up, its
// queue overflowed, which ends it).
func (p *Player) Emit(name string, payload []byte) error {
	return p.s.pushFrame(netcode.Marshal(eventFrame(name, payload, 0)), outbox.Bounded)
}

// EmitAck sends a named event and waits for the client's reply, or for
// ctx: an acknowledgement that never comes is ctx's error
// (context.DeadlineExceeded). A client without a handler for name answers
// with an error.
func (p *Player) EmitAck(ctx context.Context, name string, payload []byte) ([]byte, error) {
	s := p.s
	ch := make(chan *sessionpb.EventAck, 1)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil, ErrSessionEnded
	}
	s.nextAck++
	id := s.nextAck
	if s.acks == nil {
		s.acks = map[uint32]chan *sessionpb.EventAck{}
	}
	s.acks[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}()
	if err := s.push(eventFrame(name, payload, id)); err != nil {
		return nil, err
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return nil, ErrSessionEnded
		}
		if e := a.GetError(); e != "" {
			return nil, fmt.Errorf("gateway: client refused event %q: %s", name, e)
		}
		return a.GetPayload(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("gateway: event %q not acknowledged: %w", name, ctx.Err())
	}
}

// ErrSessionEnded is returned for events to a session that has ended.
var ErrSessionEnded = errors.New("gateway: session ended")

func eventFrame(name string, payload []byte, ackID uint32) *sessionpb.ServerMessage {
	return &sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Event{Event: &sessionpb.Event{Name: name, Payload: payload, AckId: ackID}}}
}

// Events is the server's registry of event handlers. Safe for concurrent
// use.
type Events struct {
	srv      *Server
	mu       sync.RWMutex
	handlers map[string]EventHandler
}

func newEvents(s *Server) *Events { return &Events{srv: s, handlers: map[string]EventHandler{}} }

// Handle registers h for events named name, replacing any earlier one.
// Register handlers before serving.
func (s *Server) Handle(name string, h EventHandler) {
	s.events.mu.Lock()
	s.events.handlers[name] = h
	s.events.mu.Unlock()
}

// Players returns a handle on every live session (connected or held).
func (s *Server) Players() []*Player {
	ps := s.liveSessions()
	out := make([]*Player, len(ps))
	for i, p := range ps {
		out[i] = &Player{p}
	}
	return out
}

// EmitRoom sends an event to every player and spectator in room roomID,
// except one (nil for none: the "except the sender" scope). It returns how
// many sessions it was queued for; a connected session whose queue
// overflows ends (a held one keeps the newest events). It walks that
// room's members only.
func (s *Server) EmitRoom(roomID, name string, payload []byte, except *Player) int {
	frame := netcode.Marshal(eventFrame(name, payload, 0))
	n := 0
	// Only the room's members: the cost does not grow with the sessions
	// elsewhere on the server (roomIndex).
	for _, p := range s.rooms.members(roomID, nil) {
		if except != nil && except.s == p {
			continue
		}
		if m := p.member(); m != nil && m.Room().ID() == roomID {
			if p.pushFrame(frame, outbox.Bounded) == nil {
				n++
			}
		}
	}
	return n
}

// EmitAll sends an event to every live session, connected or held (a
// server-wide announcement). It returns how many it was queued for here;
// with a fleet (Config.Fleet) it is also published to the other servers,
// which deliver it to theirs with EmitLocal.
func (s *Server) EmitAll(name string, payload []byte) int {
	if s.cfg.Fleet != nil {
		s.cfg.Fleet.Broadcast(name, payload)
	}
	return s.EmitLocal(name, payload)
}

// EmitLocal sends an event to every live session of this server only
// (connected or held), and returns how many it was queued for. A fleet
// broadcast from another server arrives here.
func (s *Server) EmitLocal(name string, payload []byte) int {
	frame := netcode.Marshal(eventFrame(name, payload, 0))
	n := 0
	for _, p := range s.liveSessions() {
		if p.pushFrame(frame, outbox.Bounded) == nil {
			n++
		}
	}
	return n
}

// validName reports whether an event name is 1..64 bytes of UTF-8.
func validName(name string) bool { return name != "" && len(name) <= 64 && utf8.ValidString(name) }

// dispatch runs the handler of a client's event and answers it.
func (e *Events) dispatch(c *conn, s *session, rid uint32, ev *sessionpb.Event) error {
	e.mu.RLock()
	h := e.handlers[ev.GetName()]
	e.mu.RUnlock()
	if h == nil || !validName(ev.GetName()) {
		e.srv.unknownEvents.Add(1)
		return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, "unknown event %q", ev.GetName()))
	}
	e.srv.eventsIn.Add(1)
	reply, err, panicked := e.call(h, &Event{Name: ev.GetName(), Payload: ev.GetPayload(), From: &Player{s}})
	if panicked {
		return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "internal error"))
	}
	if err != nil {
		return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, "%s: %v", ev.GetName(), err))
	}
	if rid == 0 {
		return nil
	}
	return s.push(&sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_EventAck{EventAck: &sessionpb.EventAck{Payload: reply}}})
}

// call runs an event handler; a panic in it (game code) is logged and
// reported, and ends only the connection whose event caused it.
func (e *Events) call(h EventHandler, ev *Event) (reply []byte, err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			e.srv.log.Error("event handler panicked", "event", ev.Name, "panic", p, "stack", string(debug.Stack()))
			reply, err, panicked = nil, nil, true
		}
	}()
	reply, err = h(ev)
	return reply, err, false
}

// answered hands a client's EventAck to the EmitAck waiting for it.
func (e *Events) answered(s *session, a *sessionpb.EventAck) {
	s.mu.Lock()
	ch := s.acks[a.GetAckId()]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- a:
		default:
		}
	}
}

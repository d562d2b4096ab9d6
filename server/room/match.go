package room

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// ChatEvent is the name of the room's built-in chat: a member emits the
// text, every other member gets a "chat" event with a ChatLine, and the
// sender gets the same ChatLine as the acknowledgement. A game that lists
// "chat" in Def.Events handles it instead.
const ChatEvent = "chat"

// maxChat bounds a chat line in bytes.
const maxChat = 200

// ErrBusy means the room's request queue is full; the event was not taken.
var ErrBusy = errors.New("room: busy, try again")

// memberEvent is one event from a member, handled on the room goroutine
// after the tick's inputs.
type memberEvent struct {
	m         *Member
	name      string
	payload   []byte
	requestID uint32
}

// Handles reports whether events named name go to this room (its game's
// events and the built-in chat) rather than to the server's handlers.
func (r *Room) Handles(name string) bool { return name == ChatEvent || r.def.Handles(name) }

// Event hands the room a named event from the member; it is handled on the
// room goroutine after this tick's inputs, in arrival order, and answered
// on the member's outbox: an EventAck echoing requestID (when not 0) or a
// non-fatal Error. payload is copied. It does not block: a room whose
// queue is full refuses with ErrBusy.
func (m *Member) Event(name string, payload []byte, requestID uint32) error {
	ev := memberEvent{m: m, name: name, payload: append([]byte(nil), payload...), requestID: requestID}
	r := m.room
	select {
	case r.ctrl <- func() { r.events = append(r.events, ev) }:
		return nil
	case <-r.done:
		return ErrClosed
	default:
		return ErrBusy
	}
}

// handleEvents runs the tick's member events in arrival order.
func (r *Room) handleEvents() {
	for i := range r.events {
		ev := &r.events[i]
		if !ev.m.removed {
			r.handleEvent(ev)
		}
		*ev = memberEvent{}
	}
	r.events = r.events[:0]
}

func (r *Room) handleEvent(ev *memberEvent) {
	m := ev.m
	var reply []byte
	var err error
	if _, ended := r.ctx.Ended(); ended {
		r.refuse(m, ev, sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, ev.name+": the match has ended")
		return
	}
	switch {
	case r.def.Handles(ev.name):
		if m.spectator {
			r.refuse(m, ev, sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, ev.name+": spectators cannot act in the match")
			return
		}
		reply, err = r.match.Event(r.ctx, m.player, ev.name, ev.payload)
	case ev.name == ChatEvent:
		reply, err = r.chat(m, ev.payload)
	default:
		err = game.ErrUnknownEvent
	}
	switch {
	case errors.Is(err, game.ErrUnknownEvent):
		r.refuse(m, ev, sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, "unknown event "+ev.name)
	case err != nil:
		r.refuse(m, ev, sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, ev.name+": "+err.Error())
	case ev.requestID != 0:
		r.push(m, netcode.Marshal(&sessionpb.ServerMessage{RequestId: ev.requestID,
			Body: &sessionpb.ServerMessage_EventAck{EventAck: &sessionpb.EventAck{Payload: reply}}}))
	}
}

func (r *Room) refuse(m *Member, ev *memberEvent, code sessionpb.ErrorCode, msg string) {
	r.push(m, netcode.ErrorFrame(ev.requestID, code, false, msg))
}

// chat is the built-in chat handler.
func (r *Room) chat(m *Member, text []byte) ([]byte, error) {
	if len(text) == 0 || len(text) > maxChat || !utf8.Valid(text) {
		return nil, errors.New("text must be 1..200 bytes of UTF-8")
	}
	line := netcode.Marshal(&sessionpb.ChatLine{PlayerId: uint32(m.player), Name: m.name, Text: string(text)})
	r.broadcastEvent(eventFrame(ChatEvent, line), m)
	return line, nil
}

func eventFrame(name string, payload []byte) []byte {
	return netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Event{Event: &sessionpb.Event{Name: name, Payload: payload}}})
}

// push queues a reliable frame (a reply: never dropped) for one member; a
// member that cannot take it is cut as a slow consumer.
func (r *Room) push(m *Member, frame []byte) { r.pushPolicy(m, frame, outbox.Keep) }

// pushPolicy queues a frame with policy p (events are outbox.Bounded: a
// held member keeps the newest few and its seat).
func (r *Room) pushPolicy(m *Member, frame []byte, p outbox.Policy) {
	if err := m.out.PushPolicy(frame, p); errors.Is(err, outbox.ErrFull) {
		r.cutSlow(m)
		r.sweep(ErrSlowConsumer)
	}
}

// cutSlow marks m removed and closes its connection as a slow consumer.
func (r *Room) cutSlow(m *Member) {
	m.removed = true
	e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "too many messages queued")
	m.out.Close(e.Frame(0), e)
}

// Emit sends player p an event (game.Host).
func (r *Room) Emit(p game.PlayerID, name string, payload []byte) {
	if m := r.memberOf(p); m != nil {
		r.pushPolicy(m, eventFrame(name, payload), outbox.Bounded)
	}
}

// Broadcast sends every member but player except an event (game.Host).
func (r *Room) Broadcast(name string, payload []byte, except game.PlayerID) {
	r.broadcastEvent(eventFrame(name, payload), r.memberOf(except))
}

// Name is player p's display name (game.Host).
func (r *Room) Name(p game.PlayerID) string {
	if m := r.memberOf(p); m != nil {
		return m.name
	}
	return ""
}

// memberOf returns the member seated as player p, or nil (p 0: nil).
func (r *Room) memberOf(p game.PlayerID) *Member {
	if p == 0 {
		return nil
	}
	for _, m := range r.members {
		if m.player == p && !m.removed {
			return m
		}
	}
	return nil
}

// SetHeld tells the room the member's connection was lost (held) or is
// back; a game that implements game.Holder hears of it. It does not wait.
func (m *Member) SetHeld(held bool) {
	r := m.room
	_ = r.post(context.Background(), func() {
		if m.removed || m.held == held || m.spectator {
			return
		}
		m.held = held
		if h, ok := r.match.(game.Holder); ok {
			if held {
				h.Hold(r.ctx, m.player)
			} else {
				h.Return(r.ctx, m.player)
			}
		}
	})
}

// end publishes the match's result and tells every member; the room then
// closes.
func (r *Room) end(res game.Result) {
	r.result.Store(&res)
	me := &sessionpb.MatchEnded{RoomId: r.id, Summary: res.Summary}
	for _, s := range res.Standings {
		me.Standings = append(me.Standings, &sessionpb.Standing{PlayerId: uint32(s.Player), Name: s.Name, Score: s.Score})
	}
	r.broadcast(netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_MatchEnded{MatchEnded: me}}))
	r.log.Info("match ended", "tick", r.ctx.Tick(), "summary", res.Summary)
}

// Result returns how the room's match ended, or nil while it runs.
func (r *Room) Result() *game.Result { return r.result.Load() }

// Game returns the room's game.
func (r *Room) Game() *game.Def { return r.def }

// Outbox is the member's outbox (a restored member's own, until a session
// takes it over).
func (m *Member) Outbox() *outbox.Outbox { return m.out }

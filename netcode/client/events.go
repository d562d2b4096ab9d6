package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// EventHandler handles a named event from the server. When the server asked
// for an acknowledgement, the returned payload (or error) is sent back; it
// runs on the read goroutine, so it must not block.
type EventHandler func(payload []byte) ([]byte, error)

// eventState holds the client's event handlers. Safe for concurrent use.
type eventState struct {
	mu       sync.Mutex
	handlers map[string]EventHandler
	unknown  uint64 // events without a handler
}

func (e *eventState) init() { e.handlers = map[string]EventHandler{} }

// MaxEventName bounds an event's name in bytes.
const MaxEventName = 64

// ErrEventName means an event name is empty, too long or not UTF-8.
var ErrEventName = errors.New("client: event name must be 1..64 bytes of UTF-8")

func checkName(name string) error {
	if name == "" || len(name) > MaxEventName || !utf8.ValidString(name) {
		return ErrEventName
	}
	return nil
}

// On registers h for events named name (replacing any earlier handler).
func (c *Conn) On(name string, h EventHandler) {
	c.events.mu.Lock()
	c.events.handlers[name] = h
	c.events.mu.Unlock()
}

// Emit sends a named event to the server, reliably and in order: it is
// resent after a reconnection until the server has it. It does not wait.
func (c *Conn) Emit(name string, payload []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	return c.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Event{Event: &sessionpb.Event{Name: name, Payload: payload}}}, true)
}

// EmitAck sends a named event (reliably, like Emit) and waits for the
// server handler's reply, or
// for ctx (Config.RequestTimeout when ctx has no deadline): an ack that
// never comes is a context.DeadlineExceeded error. A refused event (unknown
// name, failing handler) comes back as a *netcode.Error.
func (c *Conn) EmitAck(ctx context.Context, name string, payload []byte) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Event{Event: &sessionpb.Event{Name: name, Payload: payload}}})
	if err != nil {
		return nil, err
	}
	a := r.GetEventAck()
	if a == nil {
		return nil, fmt.Errorf("client: expected EventAck, got %T", r.Body)
	}
	return a.GetPayload(), nil
}

// onEvent runs on the read goroutine for an event from the server.
func (c *Conn) onEvent(ev *sessionpb.Event) {
	c.events.mu.Lock()
	h := c.events.handlers[ev.GetName()]
	if h == nil {
		c.events.unknown++
	}
	c.events.mu.Unlock()
	var reply []byte
	var err error
	if h == nil {
		err = fmt.Errorf("unknown event %q", ev.GetName())
	} else {
		reply, err = h(ev.GetPayload())
	}
	if ev.GetAckId() == 0 {
		return
	}
	ack := &sessionpb.EventAck{AckId: ev.GetAckId(), Payload: reply}
	if err != nil {
		ack.Error = err.Error()
	}
	_ = c.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_EventAck{EventAck: ack}}, true)
}

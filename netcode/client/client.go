// Package client is the protocol's client side, shared by the bots and the
// desktop client: it dials, says Hello, makes lobby requests, sends inputs
// with sequence numbers (resending a few unacknowledged ones), rebuilds full
// states from delta snapshots, acknowledges them, and keeps what prediction
// needs (the inputs the server has not applied yet).
//
// client imports netcode, its transports, sim and proto; never the server,
// the desktop client or the bots.
package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/sim"
)

// Config configures a connection. Zero fields take defaults.
type Config struct {
	// URL is the server's WebSocket endpoint, for example
	// ws://127.0.0.1:8080/ws.
	URL string
	// Name is the player's display name (1..24 bytes).
	Name string
	// Dial holds transport options (timeouts, a dialer for a link
	// conditioner).
	Dial wsconn.DialOptions
	// RequestTimeout bounds lobby requests when the context has no deadline.
	// Default 5 s.
	RequestTimeout time.Duration
	// Resend is how many unacknowledged inputs ride along with each new one.
	// Default 2.
	Resend int
	// OnSnapshot, if set, is called on the read goroutine with every decoded
	// snapshot. The Snapshot and its State are valid only during the call.
	OnSnapshot func(*Snapshot)
	// OnRoster, if set, is called on the read goroutine with every roster.
	OnRoster func(*arenapb.Roster)
	// OnError, if set, is called on the read goroutine with every error the
	// server pushes (not replies to requests; those are returned).
	OnError func(*netcode.Error)
	// OnClose, if set, is called once when the connection ends.
	OnClose func(error)
	// OnInputAck, if set, is called on the read goroutine for every input
	// the server newly acknowledged, with the time from sending it to
	// receiving the acknowledging snapshot.
	OnInputAck func(time.Duration)
}

// Snapshot is one decoded snapshot.
type Snapshot struct {
	Tick        uint32
	BaselineAge uint32 // 0 for a full snapshot
	InputAck    uint32 // highest input sequence number the server applied
	State       *sim.State
	Bytes       int // size of the frame
}

// Conn is a connected client. Its methods are safe for concurrent use.
type Conn struct {
	cfg     Config
	ws      *wsconn.ClientConn
	welcome *arenapb.Welcome

	nextRID  atomic.Uint32
	mu       sync.Mutex // guards waiters, room state, inputs and closeErr
	waiters  map[uint32]chan *arenapb.ServerMessage
	joined   *arenapb.Joined
	history  history
	inputs   inputLog
	ackTick  uint32 // newest snapshot tick decoded
	closeErr error

	bytesIn, bytesOut, framesIn atomic.Uint64
	unknown                     atomic.Uint64 // frames with a body this client does not know
	done                        chan struct{}

	// Owned by the read goroutine.
	msg  arenapb.ServerMessage
	snap Snapshot
}

// ErrClosed is returned by calls on a connection that has ended.
var ErrClosed = errors.New("client: connection closed")

// Dial connects and completes the handshake.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.Resend < 0 {
		cfg.Resend = 0
	} else if cfg.Resend == 0 {
		cfg.Resend = 2
	}
	c := &Conn{cfg: cfg, waiters: map[uint32]chan *arenapb.ServerMessage{}, done: make(chan struct{})}
	c.history.init(64) // resized on Welcome
	ws, err := wsconn.Dial(ctx, cfg.URL, cfg.Dial, c.onFrame, c.onClose)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	reply, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_Hello{Hello: &arenapb.Hello{
		ProtocolVersion: netcode.ProtocolVersion, Name: cfg.Name,
	}}})
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	c.welcome = reply.GetWelcome()
	if c.welcome == nil {
		_ = ws.Close()
		return nil, fmt.Errorf("client: expected Welcome, got %T", reply.Body)
	}
	// Keep two seconds of states: the server deltas against the newest
	// acknowledged one it still holds, at most about a second old.
	c.mu.Lock()
	if n := 2*int(c.welcome.GetSnapshotRate()) + 4; n > len(c.history.states) {
		c.history.init(n)
	}
	c.mu.Unlock()
	return c, nil
}

// Welcome is the server's answer to Hello.
func (c *Conn) Welcome() *arenapb.Welcome { return c.welcome }

// Done is closed when the connection has ended; Err tells why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Close ends the connection.
func (c *Conn) Close() error { return c.ws.Close() }

// send encodes and writes one message.
func (c *Conn) send(m *arenapb.ClientMessage) error {
	b := netcode.Marshal(m)
	if err := c.ws.Send(b); err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	c.bytesOut.Add(uint64(len(b)))
	return nil
}

// request sends m with a fresh request id and waits for the reply. A reply
// that is an Error comes back as a *netcode.Error.
func (c *Conn) request(ctx context.Context, m *arenapb.ClientMessage) (*arenapb.ServerMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
	}
	rid := c.nextRID.Add(1)
	ch := make(chan *arenapb.ServerMessage, 1)
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return nil, c.closeErr
	}
	c.waiters[rid] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, rid)
		c.mu.Unlock()
	}()
	m.RequestId = rid
	if err := c.send(m); err != nil {
		return nil, err
	}
	select {
	case reply := <-ch:
		if e := reply.GetError(); e != nil {
			return nil, &netcode.Error{Code: e.Code, Message: e.Message, Fatal: e.Fatal}
		}
		return reply, nil
	case <-c.done:
		return nil, c.Err()
	case <-ctx.Done():
		return nil, fmt.Errorf("client: %T: %w", m.Body, ctx.Err())
	}
}

// ListRooms asks for the server's rooms.
func (c *Conn) ListRooms(ctx context.Context) ([]*arenapb.RoomInfo, error) {
	r, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_ListRooms{ListRooms: &arenapb.ListRooms{}}})
	if err != nil {
		return nil, err
	}
	return r.GetRoomList().GetRooms(), nil
}

// CreateRoom opens a room with capacity seats (0: the server's default).
func (c *Conn) CreateRoom(ctx context.Context, capacity uint32) (*arenapb.RoomInfo, error) {
	r, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_CreateRoom{CreateRoom: &arenapb.CreateRoom{Capacity: capacity}}})
	if err != nil {
		return nil, err
	}
	return r.GetRoomCreated().GetRoom(), nil
}

// Join takes a seat in roomID, or quick-joins when roomID is empty; with
// spectate it watches instead. Snapshots start arriving right after.
func (c *Conn) Join(ctx context.Context, roomID string, spectate bool) (*arenapb.Joined, error) {
	r, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_JoinRoom{JoinRoom: &arenapb.JoinRoom{RoomId: roomID, Spectate: spectate}}})
	if err != nil {
		return nil, err
	}
	j := r.GetJoined()
	if j == nil {
		return nil, fmt.Errorf("client: expected Joined, got %T", r.Body)
	}
	return j, nil
}

// Leave gives up the seat.
func (c *Conn) Leave(ctx context.Context) error {
	_, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_LeaveRoom{LeaveRoom: &arenapb.LeaveRoom{}}})
	return err
}

// Ping measures one round trip through the server's message handling.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.request(ctx, &arenapb.ClientMessage{Body: &arenapb.ClientMessage_Ping{Ping: &arenapb.Ping{Time: uint64(start.UnixNano())}}})
	return time.Since(start), err
}

// Joined returns the current room's Joined message, or nil outside a room.
func (c *Conn) Joined() *arenapb.Joined {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined
}

// SendInput numbers in with the next sequence number and sends it, together
// with up to Config.Resend older inputs the server has not acknowledged, and
// the newest snapshot tick as an acknowledgement. in.ViewTick, when set,
// goes with the batch as its view tick (lag compensation). It returns the
// sequence number.
func (c *Conn) SendInput(in sim.Input) (uint32, error) {
	c.mu.Lock()
	seq := c.inputs.add(in, time.Now())
	first, batch := c.inputs.unacked(c.cfg.Resend + 1)
	m := &arenapb.InputBatch{FirstSeq: first, AckTick: c.ackTick, ViewTick: in.ViewTick}
	for _, p := range batch {
		m.Buttons = append(m.Buttons, uint32(p.in.Buttons))
		m.Aim = append(m.Aim, uint32(p.in.Aim))
	}
	c.mu.Unlock()
	return seq, c.send(&arenapb.ClientMessage{Body: &arenapb.ClientMessage_Inputs{Inputs: m}})
}

// Ack sends an acknowledgement of the newest snapshot without inputs; a
// spectator (or a player idle for a while) calls it after snapshots.
func (c *Conn) Ack() error {
	c.mu.Lock()
	tick := c.ackTick
	c.mu.Unlock()
	return c.send(&arenapb.ClientMessage{Body: &arenapb.ClientMessage_Inputs{Inputs: &arenapb.InputBatch{AckTick: tick}}})
}

// PendingInputs appends to dst the inputs sent but not yet applied by the
// server, oldest first: what a client replays on top of a snapshot to
// predict its own player.
func (c *Conn) PendingInputs(dst []sim.Input) []sim.Input {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, batch := c.inputs.unacked(inputLogSize)
	for _, p := range batch {
		dst = append(dst, p.in)
	}
	return dst
}

// Stats are a connection's traffic counters (frame payload bytes).
type Stats struct {
	BytesIn, BytesOut, FramesIn uint64
}

// Stats returns the traffic counters.
func (c *Conn) Stats() Stats {
	return Stats{BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), FramesIn: c.framesIn.Load()}
}

func (c *Conn) onClose(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		if err == nil {
			err = ErrClosed
		}
		c.closeErr = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	err = c.closeErr
	c.mu.Unlock()
	close(c.done)
	if c.cfg.OnClose != nil {
		c.cfg.OnClose(err)
	}
}

// onFrame runs on the read goroutine for every server frame.
func (c *Conn) onFrame(data []byte) {
	c.bytesIn.Add(uint64(len(data)))
	c.framesIn.Add(1)
	if err := netcode.DecodeServer(data, &c.msg); err != nil {
		if errors.Is(err, netcode.ErrUnknownMessage) {
			c.unknown.Add(1) // a newer server's message: ignore it
			return
		}
		c.fail(err)
		return
	}
	switch b := c.msg.Body.(type) {
	case *arenapb.ServerMessage_Snapshot:
		if err := c.applySnapshot(b.Snapshot, len(data)); err != nil {
			c.fail(err)
		}
		return
	case *arenapb.ServerMessage_Joined:
		c.mu.Lock()
		c.joined = b.Joined
		c.history.reset()
		c.ackTick = 0
		c.mu.Unlock()
	case *arenapb.ServerMessage_Left:
		c.leftRoom()
	case *arenapb.ServerMessage_Roster:
		if c.cfg.OnRoster != nil {
			c.cfg.OnRoster(b.Roster)
		}
	case *arenapb.ServerMessage_Error:
		e := &netcode.Error{Code: b.Error.Code, Message: b.Error.Message, Fatal: b.Error.Fatal}
		if e.Code == arenapb.ErrorCode_ERROR_CODE_ROOM_CLOSED {
			c.leftRoom()
		}
		if c.msg.RequestId == 0 {
			if e.Fatal {
				c.mu.Lock()
				if c.closeErr == nil {
					c.closeErr = fmt.Errorf("%w: %w", ErrClosed, e)
				}
				c.mu.Unlock()
			}
			if c.cfg.OnError != nil {
				c.cfg.OnError(e)
			}
			return
		}
	}
	if rid := c.msg.RequestId; rid != 0 {
		c.mu.Lock()
		ch := c.waiters[rid]
		c.mu.Unlock()
		if ch != nil {
			// The waiter owns the reply: hand over a copy, c.msg is reused.
			reply := &arenapb.ServerMessage{}
			*reply = arenapb.ServerMessage{RequestId: rid, Body: c.msg.Body}
			ch <- reply
		}
	}
}

func (c *Conn) leftRoom() {
	c.mu.Lock()
	c.joined = nil
	c.history.reset()
	c.ackTick = 0
	c.mu.Unlock()
}

// fail reports a broken stream from the server and closes the connection.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.mu.Unlock()
	_ = c.ws.Close()
}

// ErrUnknownBaseline means the server sent a delta against a snapshot this
// client no longer holds (or never had): a protocol violation.
var ErrUnknownBaseline = errors.New("client: snapshot delta against an unknown baseline")

func (c *Conn) applySnapshot(s *arenapb.Snapshot, size int) error {
	c.mu.Lock()
	if c.joined == nil {
		c.mu.Unlock()
		return nil // a snapshot that crossed our leaving; nothing to apply it to
	}
	var base *sim.State
	if s.BaselineAge != 0 {
		base = c.history.find(s.Tick - s.BaselineAge)
		if base == nil {
			c.mu.Unlock()
			return fmt.Errorf("%w: tick %d", ErrUnknownBaseline, s.Tick-s.BaselineAge)
		}
	}
	if s.Tick <= c.ackTick {
		c.mu.Unlock()
		return nil // stale or repeated; the newest state stands
	}
	out := c.history.slot()
	if err := netcode.ApplyDelta(out, base, s.Tick, s.State); err != nil {
		c.history.discard()
		c.mu.Unlock()
		return err
	}
	c.ackTick = s.Tick
	now := time.Now()
	acked := c.inputs.ack(s.InputAck, now)
	c.mu.Unlock()
	c.snap = Snapshot{Tick: s.Tick, BaselineAge: s.BaselineAge, InputAck: s.InputAck, State: out, Bytes: size}
	if c.cfg.OnInputAck != nil {
		for _, d := range acked {
			c.cfg.OnInputAck(d)
		}
	}
	if c.cfg.OnSnapshot != nil {
		c.cfg.OnSnapshot(&c.snap)
	}
	return nil
}

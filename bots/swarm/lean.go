package swarm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// leanConn is the cheap bots' connection: a bare WebSocket speaking just
// enough of the protocol to join a room, send inputs and events and
// acknowledge snapshots (parsed in place, never decoded), so a single core
// can load a server with thousands of players. It never resumes: a broken
// connection ends the bot.
type leanConn struct {
	b      *bot
	game   string // the game to create and quick-join rooms of
	socket *gws.Conn
	w      frameWriter // socket, or a test's fake
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex // guards the fields below (input loop and read goroutine)
	lastSeq  uint32     // highest reliable server frame seen, acknowledged with every input
	ackTick  uint32     // newest snapshot tick
	inputAck uint32     // newest input acknowledged
	nextSeq  uint32     // last input sequence number
	outSeq   uint32     // last reliable client frame (requests, events)
	held     uint32     // inputs held for the next input frame (input batch)
	sent     [128]int64 // time (unix ns) input seq%128 was made
	ins      [128][]byte
	err      error

	replies chan *sessionpb.ServerMessage // replies to the handshake and to requests

	bytesIn, bytesOut atomic.Uint64

	// Owned by the input loop (write also by the handshake before it).
	frame    []byte
	batch    [][]byte  // the inputs of frame; they alias ins
	ackedAt  uint32    // newest snapshot tick acknowledged
	deadline time.Time // the write deadline last set
}

// frameWriter is the part of a *gws.Conn that the lean bot writes with.
type frameWriter interface {
	WriteMessage(opcode gws.Opcode, payload []byte) error
	SetWriteDeadline(t time.Time) error
}

// dialLean connects, says Hello and returns once the Welcome arrived.
func dialLean(ctx context.Context, url, name, gameName string, b *bot) (*leanConn, *sessionpb.Welcome, error) {
	c := &leanConn{b: b, game: gameName, done: make(chan struct{}), replies: make(chan *sessionpb.ServerMessage, 4)}
	socket, _, err := gws.NewClient(c, &gws.ClientOption{Addr: url, HandshakeTimeout: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	c.socket, c.w = socket, socket
	go socket.ReadLoop()
	reply, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{
		ProtocolVersion: netcode.ProtocolVersion, Name: name}}}, false)
	if err != nil {
		c.close()
		return nil, nil, err
	}
	w := reply.GetWelcome()
	if w == nil {
		c.close()
		return nil, nil, fmt.Errorf("lean bot: expected Welcome, got %T", reply.Body)
	}
	if err := checkWelcome(w); err != nil {
		c.close()
		return nil, nil, err
	}
	return c, w, nil
}

// request sends m (a reliable frame when reliable) and waits for the next
// reply; the lean bot makes one request at a time.
func (c *leanConn) request(ctx context.Context, m *sessionpb.ClientMessage, reliable bool) (*sessionpb.ServerMessage, error) {
	c.mu.Lock()
	if reliable {
		c.outSeq++
		m.Seq, m.RequestId = c.outSeq, c.outSeq
	}
	m.AckSeq = c.lastSeq
	c.mu.Unlock()
	if err := c.write(netcode.Marshal(m)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case r := <-c.replies:
		if e := r.GetError(); e != nil {
			return nil, &netcode.Error{Code: e.Code, Message: e.Message, Fatal: e.Fatal}
		}
		return r, nil
	case <-c.done:
		return nil, c.cause()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *leanConn) createRoom(ctx context.Context, capacity uint32) (string, error) {
	r, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: capacity, Game: c.game}}}, true)
	if err != nil {
		return "", err
	}
	return r.GetRoomCreated().GetRoom().GetId(), nil
}

func (c *leanConn) join(ctx context.Context, roomID string) (*sessionpb.Joined, error) {
	r, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID, Game: c.game}}}, true)
	if err != nil {
		return nil, err
	}
	if j := r.GetJoined(); j != nil {
		return j, nil
	}
	return nil, fmt.Errorf("lean bot: expected Joined, got %T", r.Body)
}

func (c *leanConn) write(frame []byte) error {
	// A write deadline, refreshed only when half spent: setting it on every
	// write costs a timer update per input.
	if now := time.Now(); c.deadline.Sub(now) < time.Second {
		c.deadline = now.Add(2 * time.Second)
		_ = c.w.SetWriteDeadline(c.deadline)
	}
	if err := c.w.WriteMessage(gws.OpcodeBinary, frame); err != nil {
		return err
	}
	c.bytesOut.Add(uint64(len(frame)))
	return nil
}

// sendInput numbers in (copied) and sends it with up to two
// unacknowledged inputs, the newest snapshot tick and the newest reliable
// seq as acknowledgements. With an input batch k above 1 an input is held
// until k wait or a snapshot arrived since the last frame; the frame
// carries the held ones (and two more unacknowledged). Each input's
// latency counts from when it was made.
func (c *leanConn) sendInput(in []byte) error {
	c.mu.Lock()
	c.nextSeq++
	seq := c.nextSeq
	c.sent[seq%128] = time.Now().UnixNano()
	c.ins[seq%128] = append(c.ins[seq%128][:0], in...)
	k := uint32(max(c.b.inputBatch, 1))
	// Held until k inputs wait or a snapshot needs acknowledging
	// (client.Config.InputBatch).
	if c.held++; c.held < k && c.ackTick <= c.ackedAt {
		c.mu.Unlock()
		return nil
	}
	c.held = 0
	first := max(c.inputAck+1, seq-min(seq-1, 2+k-1))
	c.batch = c.batch[:0]
	for s := first; s <= seq; s++ {
		c.batch = append(c.batch, c.ins[s%128])
	}
	c.frame = netcode.AppendInputFrame(c.frame[:0], c.lastSeq, first, c.batch, c.ackTick, 0)
	c.ackedAt = c.ackTick
	c.mu.Unlock()
	return c.write(c.frame)
}

// ack acknowledges the newest snapshot with an input batch without inputs
// (what client.Conn.Ack sends), when one arrived since the last
// acknowledgement.
func (c *leanConn) ack() error {
	c.mu.Lock()
	if c.ackTick <= c.ackedAt {
		c.mu.Unlock()
		return nil
	}
	c.ackedAt = c.ackTick
	c.frame = netcode.AppendInputFrame(c.frame[:0], c.lastSeq, 0, nil, c.ackTick, 0)
	c.mu.Unlock()
	return c.write(c.frame)
}

// emit sends a named event as a reliable frame (the lean bot never resends
// one: it never resumes).
func (c *leanConn) emit(name string, payload []byte) error {
	m := &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Event{Event: &sessionpb.Event{Name: name, Payload: payload}}}
	c.mu.Lock()
	c.outSeq++
	m.Seq, m.AckSeq = c.outSeq, c.lastSeq
	c.mu.Unlock()
	return c.write(netcode.Marshal(m))
}

// step is one tick of a lean bot: its brain decides on a Scene that is
// never Ready, and the move goes out as runBot's step sends it (an input
// every tick for a TickInputs game, else only a non-empty one or an
// acknowledgement; then the events).
func (c *leanConn) step(b *bot) error {
	b.move.Reset()
	b.brain.Act(&b.scene, &b.move)
	var err error
	if b.def.TickInputs || len(b.move.Input) > 0 {
		err = c.sendInput(b.move.Input)
	} else {
		err = c.ack()
	}
	for _, e := range b.move.Events {
		if err != nil {
			break
		}
		err = c.emit(e.Name, e.Payload)
	}
	return err
}

// OnMessage runs on the read goroutine: snapshots are parsed in place;
// anything else (rare) goes through the protobuf runtime.
func (c *leanConn) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	data := msg.Bytes()
	c.bytesIn.Add(uint64(len(data)))
	if tick, age, ack, _, ok := netcode.ParseSnapshotFrame(data); ok {
		now := time.Now().UnixNano()
		c.mu.Lock()
		c.ackTick = max(c.ackTick, tick)
		from := c.inputAck + 1
		if ack > c.inputAck && ack <= c.nextSeq {
			c.inputAck = ack
		}
		to := c.inputAck
		var lat [128]time.Duration // every input this snapshot newly acknowledges
		n := 0
		for s := max(from, to-min(to, 127)); s <= to && s >= from; s++ {
			lat[n] = time.Duration(now - c.sent[s%128])
			n++
		}
		c.mu.Unlock()
		c.b.mu.Lock()
		c.b.snaps++
		if age == 0 && c.b.snaps > 1 {
			c.b.fulls++
		}
		c.b.ack, c.b.tick = ack, tick
		for _, d := range lat[:n] {
			c.b.lat.Add(d)
			c.b.window.Add(d)
		}
		c.b.mu.Unlock()
		return
	}
	var m sessionpb.ServerMessage
	if proto.Unmarshal(data, &m) != nil {
		c.fail(errors.New("lean bot: malformed server frame"))
		return
	}
	if seq := m.GetSeq(); seq != 0 {
		c.mu.Lock()
		c.lastSeq = max(c.lastSeq, seq)
		c.mu.Unlock()
	}
	switch b := m.Body.(type) {
	case *sessionpb.ServerMessage_Welcome, *sessionpb.ServerMessage_RoomCreated, *sessionpb.ServerMessage_Joined:
		c.reply(&m)
	case *sessionpb.ServerMessage_Error:
		if m.RequestId != 0 {
			c.reply(&m)
			return
		}
		if b.Error.GetFatal() || b.Error.GetCode() == sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED {
			c.fail(&netcode.Error{Code: b.Error.Code, Message: b.Error.Message, Fatal: b.Error.Fatal})
		}
	}
}

func (c *leanConn) reply(m *sessionpb.ServerMessage) {
	select {
	case c.replies <- m:
	default:
	}
}

func (c *leanConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.close()
}

func (c *leanConn) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return errors.New("lean bot: connection closed")
}

func (c *leanConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.socket.NetConn().Close()
	})
}

// bye ends the session at once (the seat is freed) and closes.
// It may run beside the input loop, so it leaves the loop's deadline
// bookkeeping alone.
func (c *leanConn) bye() {
	_ = c.socket.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.socket.WriteMessage(gws.OpcodeBinary, netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Bye{Bye: &sessionpb.Bye{}}}))
	_ = c.socket.WriteClose(1000, nil)
	c.close()
}

func (c *leanConn) OnOpen(*gws.Conn) {}

func (c *leanConn) OnClose(_ *gws.Conn, err error) {
	if err == nil {
		err = errors.New("lean bot: connection closed")
	}
	c.fail(err)
}

func (c *leanConn) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (c *leanConn) OnPong(*gws.Conn, []byte) {}

func (c *leanConn) stats() (in, out uint64) { return c.bytesIn.Load(), c.bytesOut.Load() }

// runLean is runBot for a cheap bot.
func (s *swarm) runLean(ctx context.Context, b *bot, rooms *roomDirectory, signal func()) error {
	c, w, err := dialLean(ctx, s.cfg.URL, fmt.Sprintf("bot-%d", b.id), s.cfg.Game.Name, b)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.close()
	b.mu.Lock()
	b.lean = c
	b.mu.Unlock()
	joinStart := time.Now()
	roomID := ""
	if s.cfg.RoomSize > 0 {
		roomID, err = rooms.get(ctx, b.id/s.cfg.RoomSize, func() (string, error) { return c.createRoom(ctx, uint32(s.cfg.RoomSize)) })
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
	}
	j, err := c.join(ctx, roomID)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	b.mu.Lock()
	b.joinTime = time.Since(joinStart)
	b.tickRate, b.snapshotRate = w.GetTickRate(), w.GetSnapshotRate()
	b.mu.Unlock()
	if err := b.joined(j, nil); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	s.connected.Add(1)
	signal()

	tickRate := int(w.GetTickRate())
	period := time.Second / time.Duration(tickRate)
	start := time.Now()
	timer := time.NewTimer(period)
	defer timer.Stop()
	stop := context.AfterFunc(ctx, c.bye) // one channel to watch: the connection's end
	defer stop()
	for n := 1; ; n++ {
		if late := time.Since(start.Add(time.Duration(n) * period)); late > 2*period {
			n += int(late / period)
		}
		timer.Reset(time.Until(start.Add(time.Duration(n) * period)))
		select {
		case <-c.done:
			if ctx.Err() != nil {
				return nil
			}
			return c.cause()
		case <-timer.C:
		}
		if err := c.step(b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

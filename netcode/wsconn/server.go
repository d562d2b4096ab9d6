//go:build !js

package wsconn

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/rate"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// ServerOptions are the limits of one server-side connection. Zero fields
// take the defaults named in their comments (Fill).
type ServerOptions struct {
	// MaxMessage is the largest frame the handler accepts; a larger one gets
	// Error{TOO_LARGE} and a close. Default 4 KiB (Nakama's and Colyseus's).
	MaxMessage int
	// HardMaxMessage is where the transport stops reading a frame at all and
	// closes with code 1009 before the handler sees it. Default 2×MaxMessage.
	HardMaxMessage int
	// ReadTimeout is how long the server waits for a complete message or a
	// pong before it gives up on the peer. Default 10 s.
	ReadTimeout time.Duration
	// PingInterval is how often the server pings a peer that has sent
	// nothing. Default 5 s.
	PingInterval time.Duration
	// WriteTimeout cuts a peer whose socket does not take a batch of frames
	// in time, and (on Linux) a peer whose receive window has stayed closed
	// for this long: it stopped reading, whatever room is left in the
	// server's send buffer. Default 2 s.
	WriteTimeout time.Duration
	// SendBuffer, when positive, fixes the kernel send buffer of each
	// connection (SO_SNDBUF) instead of letting it grow to the system
	// maximum: with it, what the server holds for a peer that stops reading
	// is this plus one snapshot and the bounded reliable queue. Default 0
	// (the operating system's autotuning; the gateway sets 64 KiB).
	SendBuffer int
	// ControlRate and ControlBurst bound the pings and pongs a peer sends (a
	// token bucket); pings past them go unanswered, and a peer that stays
	// over for RateSustain is closed with Error{RATE_LIMITED}. Default 10
	// per second, burst 20 (a client needs about one per PingInterval).
	ControlRate  float64
	ControlBurst int
	// RateSustain is how long a peer may stay over a rate before it is cut.
	// Default 1 s.
	RateSustain time.Duration
	// Logger receives per-connection debug logs; nil means slog.Default().
	Logger *slog.Logger
}

// Fill sets defaults for zero fields.
func (o *ServerOptions) Fill() {
	if o.ControlRate <= 0 {
		o.ControlRate = 10
	}
	if o.ControlBurst <= 0 {
		o.ControlBurst = 20
	}
	if o.RateSustain <= 0 {
		o.RateSustain = time.Second
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 4 << 10
	}
	if o.HardMaxMessage <= 0 {
		o.HardMaxMessage = 2 * o.MaxMessage
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Handler receives one connection's frames: netcode.Handler, called on the
// connection's read goroutine.
type Handler = netcode.Handler

// Upgrader turns HTTP requests into served WebSocket connections.
type Upgrader struct {
	opt ServerOptions
	up  *gws.Upgrader
}

// NewUpgrader returns an Upgrader with opt's limits. permessage-deflate stays
// off: for frames of a hundred bytes it costs more CPU than the write, and
// it is a zip-bomb surface.
func NewUpgrader(opt ServerOptions) *Upgrader {
	opt.Fill()
	return &Upgrader{opt: opt, up: gws.NewUpgrader(events{}, &gws.ServerOption{
		ReadMaxPayloadSize: opt.HardMaxMessage,
		ReadBufferSize:     4 << 10,
		HandshakeTimeout:   5 * time.Second,
		Logger:             discardLogger{},
	})}
}

// Serve upgrades the request and runs the connection until it closes. It
// blocks: the read loop runs on the calling goroutine, the writer (which
// drains link) on one it starts and waits for. An upgrade failure has
// already been answered with an HTTP error when Serve returns it.
func (u *Upgrader) Serve(w http.ResponseWriter, r *http.Request, link *outbox.Link, h Handler) error {
	socket, err := u.up.Upgrade(w, r)
	if err != nil {
		return err
	}
	if tc, ok := socket.NetConn().(*net.TCPConn); ok && u.opt.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(u.opt.SendBuffer)
	}
	c := &serverConn{opt: &u.opt, socket: socket, link: link, h: h, writerDone: make(chan struct{}),
		control: rate.New(u.opt.ControlRate, u.opt.ControlBurst, u.opt.RateSustain)}
	socket.Session().Store(sessionKey, c)
	c.lastRead.Store(time.Now().UnixNano())
	c.refreshReadDeadline(time.Now())
	if tc, ok := socket.NetConn().(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			c.raw = rc
			link.SetDirect(c.tryWrite)
		}
	}
	go c.writeLoop()
	err, handled := c.readLoop()
	if !handled {
		if e := protocolViolation(err); e != nil {
			// The peer broke the WebSocket protocol (gws has sent its close
			// frame, 1002 or 1009): a protocol error like any other.
			h.Reject(e)
		}
		// The peer went away: stop the writer. (When the handler stopped
		// reading, it has closed the link or its outbox with a final frame
		// that the writer still writes.)
		link.Close(nil, nil)
	}
	<-c.writerDone
	h.Closed(err)
	return nil
}

const sessionKey = "wsconn"

type serverConn struct {
	opt        *ServerOptions
	socket     *gws.Conn
	link       *outbox.Link
	h          Handler
	writerDone chan struct{}
	lastRead   atomic.Int64 // unix nanos of the last complete message or pong
	raw        syscall.RawConn

	// Owned by the read goroutine (gws calls OnPing and OnPong on it).
	control  rate.Limiter // pings and pongs from the peer
	rejected bool         // Reject was called: ignore the rest

	// wmu serializes every write to the socket: the writer goroutine's, the
	// direct path's (a producer writing a snapshot at once) and pongs.
	wmu  sync.Mutex
	wbuf []byte    // direct path's frame buffer
	rest []byte    // bytes of a direct write the socket did not take; the writer owes them first
	wdl  time.Time // the write deadline last set
	rdl  time.Time // the read deadline last set; read side only
}

// tryWrite is the link's direct path: it writes frames (a member's
// reliable frames and snapshot of one tick) with a single non-blocking
// write when no other write is under way. Bytes the socket does not take
// at once become the writer's to finish (it is woken); a socket that takes
// nothing leaves the frames to the queue.
//
// It runs on the producer's goroutine (a room's tick): a panic here is
// recovered and the frame left to the writer goroutine, whose own failure
// then closes this connection only.
func (c *serverConn) tryWrite(frames [][]byte) (ok bool) {
	if !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			c.opt.Logger.Error("direct write panicked", "panic", p, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	if len(c.rest) > 0 {
		return false
	}
	c.wbuf = c.wbuf[:0]
	for _, f := range frames {
		c.wbuf = appendFrameHeader(c.wbuf, gws.OpcodeBinary, len(f))
		c.wbuf = append(c.wbuf, f...)
	}
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), c.wbuf)
		return true // never wait for the socket: this is the producer's goroutine
	})
	switch {
	case err != nil || (werr != nil && werr != syscall.EAGAIN && werr != syscall.EINTR):
		return false // the writer meets the same error and closes the connection
	case n >= len(c.wbuf):
		return true
	case n > 0:
		c.rest = append(c.rest[:0], c.wbuf[n:]...)
		c.link.Wake()
		return true
	}
	return false
}

// appendFrameHeader appends a server (unmasked, final) frame header.
func appendFrameHeader(dst []byte, op gws.Opcode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	}
	return append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// writeDeadline makes sure at least half the write timeout is left for the
// write about to start, touching the socket's deadline only when needed.
// Called with wmu held.
func (c *serverConn) writeDeadline(now time.Time) {
	if c.wdl.Sub(now) < c.opt.WriteTimeout/2 {
		c.wdl = now.Add(c.opt.WriteTimeout)
		_ = c.socket.SetWriteDeadline(c.wdl)
	}
}

// refreshReadDeadline keeps the socket's read deadline, a safety net behind
// the writer's silence watch (ReadTimeout), at least a second past
// lastRead+ReadTimeout, touching it only every ReadTimeout or so.
func (c *serverConn) refreshReadDeadline(now time.Time) {
	if c.rdl.Sub(now) < c.opt.ReadTimeout+time.Second {
		c.rdl = now.Add(2*c.opt.ReadTimeout + time.Second)
		_ = c.socket.SetReadDeadline(c.rdl)
	}
}

// errNotReading is why a connection whose peer stopped reading is cut.
var errNotReading = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "the peer stopped reading")

// errTooLarge is what Frame-level size checks report.
var errTooLarge = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TOO_LARGE, "frame larger than the limit")

// readLoop reads until the peer goes away (handled false) or the handler
// stops it (handled true). A panic anywhere in reading or handling closes
// this connection only.
func (c *serverConn) readLoop() (err error, handled bool) {
	defer func() {
		if p := recover(); p != nil {
			c.opt.Logger.Error("connection read panicked", "panic", p, "stack", string(debug.Stack()))
			c.h.Reject(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "internal error"))
			err, handled = errors.New("wsconn: read panicked"), true
		}
	}()
	if c.raw != nil {
		return c.readDirect()
	}
	for {
		msg, rerr := c.socket.ReadMessage()
		if rerr != nil {
			if c.rejected {
				return rerr, true
			}
			return rerr, false
		}
		now := time.Now()
		c.lastRead.Store(now.UnixNano())
		c.refreshReadDeadline(now)
		var herr error
		switch {
		case msg.Opcode != gws.OpcodeBinary:
			e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "text frames are not accepted; send binary protobuf")
			herr = e
			c.h.Reject(e)
		case msg.Data.Len() > c.opt.MaxMessage:
			herr = errTooLarge
			c.h.Reject(errTooLarge)
		default:
			herr = c.h.Frame(msg.Bytes())
		}
		_ = msg.Close()
		if herr != nil {
			return herr, true
		}
	}
}

// protocolViolation is the reason a connection ends with when gws refused
// what the peer sent (bad framing, a frame over HardMaxMessage): a
// MALFORMED error naming the close code gws sent, so it ends the session
// and is counted as a protocol error. Other read errors (the peer went
// away) give nil.
func protocolViolation(err error) *netcode.Error {
	var code uint16
	var sc interface{ Uint16() uint16 }
	if errors.As(err, &sc) {
		code = sc.Uint16()
	} else if v := reflect.ValueOf(err); v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
		// gws wraps some of them as *internal.Error{Code, Err}.
		if f := v.Elem().FieldByName("Code"); f.IsValid() && f.CanUint() {
			code = uint16(f.Uint())
		}
	}
	switch code {
	case 1002, 1003, 1007, 1008, 1009:
		return netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "websocket protocol violation (close %d)", code)
	}
	return nil
}

// closeCode maps why a link closed to a WebSocket close code and text:
// 4000+code for a protocol error, 1001 (going away) for a server shutdown,
// 1000 for a normal close.
func closeCode(reason error) (uint16, string) {
	var pe *netcode.Error
	if errors.As(reason, &pe) && pe.Code == sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN {
		return 1001, pe.Message
	}
	if errors.As(reason, &pe) {
		return uint16(netcode.CloseCodeBase + int(pe.Code)), pe.Message
	}
	if errors.Is(reason, outbox.ErrReplaced) {
		return uint16(netcode.CloseCodeBase + int(sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED)), "session resumed on another connection"
	}
	if reason != nil {
		return 1011, reason.Error()
	}
	return 1000, "closed"
}

// writeLoop is the only writer of the socket's data frames. It exits when
// the link closes (after writing what it held and a close frame) or when a
// write fails; either way it closes the socket so the reader stops too.
func (c *serverConn) writeLoop() {
	defer close(c.writerDone)
	defer c.socket.NetConn().Close()
	defer func() {
		// A fault here must end this connection only, never the process.
		if p := recover(); p != nil {
			c.opt.Logger.Error("connection writer panicked", "panic", p, "stack", string(debug.Stack()))
			e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
			c.link.Close(nil, e)
		}
	}()
	// One timer watches the peer's silence: PingInterval after the last
	// complete message or pong it pings, ReadTimeout after it gives up with
	// Error{TIMEOUT}. The socket's own read deadline, a second later, is only
	// a safety net.
	watch := time.NewTimer(c.opt.PingInterval)
	defer watch.Stop()
	// A second watch, on the peer's receive window: a peer that stops
	// reading closes it once its socket buffer is full, and our writes
	// still succeed until ours is full too (tens of seconds at a
	// snapshot's pace). Closed for WriteTimeout (seen at most half of it
	// later), the peer is cut.
	var stall <-chan time.Time
	if c.raw != nil {
		t := time.NewTicker(c.opt.WriteTimeout / 2) // a look a second at the default: a fixed cost per player, kept small
		defer t.Stop()
		stall = t.C
	}
	var closedSince time.Time
	var pingedFor int64 // the lastRead a ping was sent for
	var batch outbox.Batch
	for {
		select {
		case now := <-stall:
			switch {
			case !windowClosed(c.raw):
				closedSince = time.Time{}
			case closedSince.IsZero():
				closedSince = now
			case now.Sub(closedSince) >= c.opt.WriteTimeout:
				c.link.Close(nil, errNotReading) // this connection only: the session is held
				return
			}
			continue
		case <-c.link.Ready():
		case now := <-watch.C:
			last := c.lastRead.Load()
			idle := now.Sub(time.Unix(0, last))
			switch {
			case idle >= c.opt.ReadTimeout:
				e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TIMEOUT, "nothing received for %v", c.opt.ReadTimeout)
				c.link.Close(e.Frame(0), e) // this connection only: the session is held
				watch.Reset(c.opt.WriteTimeout)
				continue
			case idle >= c.opt.PingInterval && pingedFor != last:
				pingedFor = last
				c.wmu.Lock()
				c.writeDeadline(now)
				err := c.socket.WritePing(nil)
				c.wmu.Unlock()
				if err != nil {
					return
				}
				watch.Reset(c.opt.ReadTimeout - idle)
			case idle >= c.opt.PingInterval:
				watch.Reset(c.opt.ReadTimeout - idle)
			default:
				watch.Reset(c.opt.PingInterval - idle)
			}
			continue
		}
		if !c.flush(&batch) {
			return
		}
	}
}

// flush writes what a direct write left over, then everything the link
// holds; after the link's last frames it writes the close frame. It reports
// whether the writer goes on.
func (c *serverConn) flush(batch *outbox.Batch) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Take under wmu: a direct write cannot slip between taking frames and
	// writing them.
	closed := c.link.Take(batch)
	if len(c.rest) == 0 && len(batch.Frames) == 0 && !closed {
		return true
	}
	c.writeDeadline(time.Now())
	if len(c.rest) > 0 {
		if _, err := c.socket.NetConn().Write(c.rest); err != nil {
			return false
		}
		c.rest = c.rest[:0]
	}
	for _, f := range batch.Frames {
		if c.socket.WriteMessage(gws.OpcodeBinary, f) != nil {
			return false
		}
	}
	if closed {
		code, text := closeCode(c.link.Reason())
		c.writeDeadline(time.Now())
		_ = c.socket.WriteClose(code, []byte(text))
		return false
	}
	return true
}

// events answers pings and refreshes the read deadline on pongs. It is shared
// by every connection of an Upgrader (and by clients); the per-connection
// state is in the socket's session.
type events struct{ gws.BuiltinEventHandler }

func (events) OnPing(socket *gws.Conn, payload []byte) {
	if v, ok := socket.Session().Load(sessionKey); ok {
		if c, ok := v.(*serverConn); ok {
			if !c.allowControl() {
				return
			}
			c.wmu.Lock()
			defer c.wmu.Unlock()
			c.writeDeadline(time.Now())
			_ = socket.WritePong(payload)
			return
		}
	}
	_ = socket.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = socket.WritePong(payload)
}

// errControlFlood is what a peer that keeps flooding pings or pongs is told.
var errControlFlood = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many pings")

// allowControl takes a token for a ping or pong from the peer. Past the
// rate it reports false; a flood that goes on for RateSustain closes the
// connection with RATE_LIMITED. It runs on the read goroutine.
func (c *serverConn) allowControl() bool {
	if c.rejected {
		return false
	}
	ok, cut := c.control.Take(time.Now(), 1)
	if cut {
		c.rejected = true
		c.h.Reject(errControlFlood)
	}
	return ok
}

func (events) OnPong(socket *gws.Conn, _ []byte) {
	v, ok := socket.Session().Load(sessionKey)
	if !ok {
		return
	}
	switch c := v.(type) {
	case *serverConn:
		if !c.allowControl() {
			return // a flood of pongs does not keep the peer alive
		}
		now := time.Now()
		c.lastRead.Store(now.UnixNano())
		c.refreshReadDeadline(now) // pongs arrive on the read goroutine
	case *ClientConn:
		_ = socket.SetReadDeadline(time.Now().Add(c.opt.ReadTimeout))
	}
}

type discardLogger struct{}

func (discardLogger) Error(...any) {}

// Package client is the protocol's client side, shared by the bots and the
// desktop client: it connects (WebSocket, long-polling, or automatic
// choice), says Hello, makes lobby requests, sends a game's inputs with
// sequence numbers (resending a few unacknowledged ones), rebuilds the
// replicated state (a game.Table, whatever the game) from delta snapshots
// with the schema the room sent in Joined, acknowledges them, and keeps
// what prediction needs.
//
// A Conn is a session, not a socket: when its transport breaks it
// reconnects by itself (exponential backoff with jitter) and resumes the
// session with its token, so the player keeps its seat; reliable frames
// missed in between are replayed by the server exactly once, and the
// client's own reliable frames (requests, events) are resent until the
// server acknowledges them.
//
// client imports netcode, its transports, the game API and proto; never a
// game, the server, the desktop client or the bots.
package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// Config configures a connection. Zero fields take defaults.
type Config struct {
	// URL is the server's WebSocket endpoint, for example
	// ws://127.0.0.1:8080/ws. The long-polling routes are derived from it
	// (the last path element ws becomes poll, ws:// becomes http://).
	URL string
	// Transport is "auto" (WebSocket, falling back to long-polling), "ws" or
	// "poll". Default "auto".
	Transport string
	// Name is the player's display name (1..24 bytes).
	Name string
	// Game is the game this client plays: CreateRoom opens a room of it,
	// and a quick join looks for one. Empty means the server's default
	// (Welcome.games[0]).
	Game string
	// Dial holds WebSocket options (timeouts, a dialer for a link
	// conditioner).
	Dial wsconn.DialOptions
	// Poll holds long-polling options and the automatic choice's timings.
	Poll PollOptions
	// RequestTimeout bounds lobby requests when the context has no deadline.
	// Default 5 s.
	RequestTimeout time.Duration
	// Resend is how many unacknowledged inputs ride along with each new one.
	// Default 2.
	Resend int
	// InputBatch is how many inputs go out in one frame at most: with 2,
	// SendInput holds an input for the next one unless a snapshot arrived
	// since the last frame (its acknowledgement goes at once, riding on
	// the input). At 60 ticks and 30 snapshots a second a player sends a
	// frame every other tick, right after each snapshot: half the frames
	// (and half the server's reads) for one tick of latency on the held
	// input. Between 1 and MaxInputBatch; default 1 (every input at once).
	InputBatch int
	// Reconnect is how the connection comes back after its transport breaks.
	Reconnect Backoff
	// MaxUnacked bounds the client's reliable frames (requests, events)
	// that the server has not acknowledged yet; past it Emit and requests
	// fail with ErrBackpressure. Default 256.
	MaxUnacked int
	// Seed seeds the backoff jitter (0: random).
	Seed uint64
	// OnSnapshot, if set, is called on the read goroutine with every decoded
	// snapshot. The Snapshot and its State are valid only during the call.
	OnSnapshot func(*Snapshot)
	// SkipState makes the client a load generator that acknowledges and
	// measures snapshots without decoding their state (Snapshot.State is
	// nil). A player needs the state; leave it false.
	SkipState bool
	// OnRoster, if set, is called on the read goroutine with every roster.
	OnRoster func(*sessionpb.Roster)
	// OnError, if set, is called on the read goroutine with every error the
	// server pushes (not replies to requests; those are returned).
	OnError func(*netcode.Error)
	// OnClose, if set, is called once when the session ends for good.
	OnClose func(error)
	// OnInputAck, if set, is called on the read goroutine for every input
	// the server newly acknowledged, with the time from sending it to
	// receiving the acknowledging snapshot.
	OnInputAck func(time.Duration)
	// OnDisconnect, if set, is called when the transport breaks and the
	// connection starts to reconnect.
	OnDisconnect func(error)
	// OnResume, if set, is called on the read goroutine when a session has
	// been resumed on a new transport, before any replayed frame.
	OnResume func(Resume)
	// Resume, when set, makes Dial resume a session that another Conn
	// started (the same program before a browser page reloaded, say), from
	// what that Conn's Save returned: Dial says Hello with its token, and
	// the Conn goes on in its room with its numbering. A refused resume
	// (the session expired, the token was spent) is Dial's error; start a
	// new session then.
	Resume *Saved
	// NoMoves makes a client that does not follow Moves
	// (Hello.follows_moves false): a draining server of a fleet keeps its
	// room, and its match ends with the drain as on a lone server.
	NoMoves bool
	// OnMove, if set, is called on the read goroutine when the server
	// hands the session to another one (Move), before the client resumes
	// there; Resume.Moved then says it arrived.
	OnMove func(*sessionpb.Move)
}

// Saved is what another Conn needs to resume a session (Config.Resume):
// the token and where both sides' numbering stands. It holds no
// decoded state: the resumed session gets a full snapshot first.
type Saved struct {
	Token    []byte
	LastSeq  uint32 // highest server seq processed
	InputSeq uint32 // last input sequence number sent
	// Joined is the room's Joined message (netcode.Marshal of a
	// ServerMessage), nil outside a room.
	Joined []byte
}

// Backoff is the reconnection policy: attempt n (from 0) waits a random
// time in [d/2, d] with d = min(Max, Min·2ⁿ), until the server's hold
// window (Welcome.hold_ms) since the loss has passed.
type Backoff struct {
	// Disabled turns reconnection off: a broken transport ends the Conn.
	Disabled bool
	// Min is the first delay. Default 100 ms.
	Min time.Duration
	// Max caps the delay. Default 5 s.
	Max time.Duration
	// AttemptTimeout bounds one attempt (dial and handshake). Default 5 s.
	AttemptTimeout time.Duration
}

func (b *Backoff) fill() {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.AttemptTimeout <= 0 {
		b.AttemptTimeout = 5 * time.Second
	}
}

// Delay returns the wait before attempt n (0-based), with jitter from rnd.
func (b Backoff) Delay(n int, rnd *rand.Rand) time.Duration {
	b.fill()
	d := b.Max
	if n < 30 && b.Min<<n < b.Max && b.Min<<n > 0 {
		d = b.Min << n
	}
	return d/2 + time.Duration(rnd.Int64N(int64(d/2)+1))
}

// Resume describes a successful resume.
type Resume struct {
	Transport string        // the new transport, "ws" or "poll"
	Down      time.Duration // from losing the transport to the resume; 0 for an upgrade (nothing was lost)
	Attempts  int           // connection attempts it took
	// Moved is true when the session was resumed on the server it was
	// handed to (a Move, Welcome.moved); Down is then the pause the move
	// cost, from the Move to the Welcome.
	Moved bool
	// Tick is, for a move, the tick the room was taken over at (Move.tick):
	// the tick it stopped at for a drain, its checkpoint's after a crash.
	Tick uint32
}

// Snapshot is one decoded snapshot.
type Snapshot struct {
	Tick        uint32
	BaselineAge uint32 // 0 for a full snapshot
	InputAck    uint32 // highest input sequence number the server applied
	// State is the room's replicated state at Tick, in the schema of the
	// room's game (Joined.schema); nil with Config.SkipState.
	State *game.Table
	Bytes int // size of the frame
}

// transport is what carries frames: a WebSocket or a long-polling channel.
type transport interface {
	Send(frame []byte) error
	Close() error
}

// link is one transport connection of the session.
type link struct {
	t       transport
	kind    string
	welcome chan *sessionpb.ServerMessage // the handshake's Welcome or fatal Error; capacity 1
	gone    chan struct{}                 // closed when the transport ended
	err     error                         // why; set before gone closes
	up      bool                          // handshake done; guarded by Conn.mu
	late    bool                          // the handshake timed out: ignore its Welcome; guarded by Conn.mu
}

// Conn is a client session. Its methods are safe for concurrent use.
type Conn struct {
	cfg     Config
	welcome atomic.Pointer[sessionpb.Welcome]

	nextRID   atomic.Uint32
	readMu    sync.Mutex // serializes frame handling across transports
	sendMu    sync.Mutex // orders sends: reliable sequence numbers go out in order
	connectMu sync.Mutex // one resume at a time (reconnection or upgrade): a token is spent once

	mu        sync.Mutex // guards the fields below
	url       string     // the server's WebSocket URL; a redirect changes it
	cur       *link      // the transport in use; nil while reconnecting
	token     []byte
	hold      time.Duration
	hbTimeout time.Duration
	lastSeq   uint32 // highest server seq processed
	ackedSeq  uint32 // highest server seq acknowledged to the server
	outSeq    uint32 // last client seq given out
	unacked   []sentFrame
	waiters   map[uint32]chan *sessionpb.ServerMessage
	joined    *sessionpb.Joined
	schema    *game.Schema // the room's, from Joined
	history   history
	inputs    inputLog
	ackTick   uint32 // newest snapshot tick decoded
	sentTick  uint32 // the snapshot tick the last input frame acknowledged
	held      int    // inputs held for the next input frame (Config.InputBatch)
	ending    error  // a fatal error that ends the session when the transport closes
	closing   bool   // Close was called
	closeErr  error
	lastFrame time.Time // when the current transport last delivered a frame
	rtt       time.Duration
	events    eventState
	lostAt    time.Time // when the transport being replaced was lost
	moveTo    string    // a Move's address, until the reconnection goes there
	peers     []string  // the fleet's other servers (Welcome.peers): where to resume when url is unreachable
	tryURL    string    // the URL the connection under way dials instead of url ("": url)
	afterMove bool      // resumed at the server the session moved to; no snapshot since
	moveTick  uint32    // the tick of the last Move followed
	movedAt   time.Time // when the last Move arrived; zero once the session arrived
	attempts  int       // connection attempts of the reconnection under way
	resuming  int       // resume handshakes under way on new connections
	restored  bool      // resumed from Config.Resume and no state decoded yet

	bytesIn, bytesOut, framesIn atomic.Uint64
	unknown                     atomic.Uint64 // frames with a body this client does not know
	duplicates                  atomic.Uint64 // replayed reliable frames already processed
	resumes                     atomic.Uint64
	upgrades                    atomic.Uint64
	moves                       atomic.Uint64
	handoffs                    atomic.Uint64
	done                        chan struct{}
	rnd                         *rand.Rand // backoff jitter; used by the reconnect goroutine only
	wg                          sync.WaitGroup

	// Input encoding scratch, guarded by sendMu.
	batchBuf [][]byte
	inBuf    []byte

	// Owned by the read side (readMu).
	msg  sessionpb.ServerMessage
	snap Snapshot
	dec  netcode.Decoder
}

type sentFrame struct {
	seq   uint32
	frame []byte
}

var (
	// ErrClosed is returned by calls on a connection that has ended.
	ErrClosed = errors.New("client: connection closed")
	// ErrBackpressure means too many reliable frames wait for the server's
	// acknowledgement.
	ErrBackpressure = errors.New("client: too many unacknowledged frames")
	// ErrSessionLost means the session could not be resumed within the
	// server's hold window.
	ErrSessionLost = errors.New("client: session lost")
)

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
	cfg.InputBatch = min(max(cfg.InputBatch, 1), MaxInputBatch)
	if cfg.Transport == "" {
		cfg.Transport = "auto"
	}
	if cfg.MaxUnacked <= 0 {
		cfg.MaxUnacked = 256
	}
	cfg.Reconnect.fill()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	c := &Conn{cfg: cfg, url: cfg.URL, waiters: map[uint32]chan *sessionpb.ServerMessage{}, done: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(seed, 0x7ec0)), hbTimeout: 15 * time.Second}
	c.history.init(64) // resized on Welcome
	c.events.init()
	hello := c.hello()
	if sv := cfg.Resume; sv != nil {
		if err := c.restore(sv); err != nil {
			return nil, err
		}
		hello.ResumeToken, hello.LastSeq = sv.Token, sv.LastSeq
	}
	l, err := c.connect(ctx, hello, cfg.Transport)
	if err != nil {
		return nil, err
	}
	w := c.welcome.Load()
	// Keep two seconds of states: the server deltas against the newest
	// acknowledged one it still holds, at most about a second old.
	c.mu.Lock()
	if n := 2*int(w.GetSnapshotRate()) + 4; n > len(c.history.states) {
		c.history.init(n)
	}
	c.mu.Unlock()
	c.wg.Go(c.watchdog)
	if l.kind == "poll" && cfg.Transport == "auto" {
		c.wg.Go(c.probeUpgrade)
	}
	return c, nil
}

// hello is a Hello for a new session; a resume adds its token and
// positions.
func (c *Conn) hello() *sessionpb.Hello {
	return &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: c.cfg.Name, FollowsRedirects: true, FollowsMoves: !c.cfg.NoMoves}
}

// connect opens a transport of the given mode, sends hello on it and waits
// for the Welcome, which onFrame has already applied when it returns.
func (c *Conn) connect(ctx context.Context, hello *sessionpb.Hello, mode string) (*link, error) {
	switch mode {
	case "ws":
		return c.connectWith(ctx, hello, "ws")
	case "poll":
		return c.connectWith(ctx, hello, "poll")
	case "auto":
		wsCtx, cancel := context.WithTimeout(ctx, c.cfg.Poll.upgradeTimeout())
		l, err := c.connectWith(wsCtx, hello, "ws")
		cancel()
		var pe *netcode.Error
		if err == nil || errors.As(err, &pe) || ctx.Err() != nil {
			return l, err // connected, or refused by the server itself
		}
		return c.connectWith(ctx, hello, "poll")
	}
	return nil, fmt.Errorf("client: transport %q is not auto, ws or poll", mode)
}

func (c *Conn) connectWith(ctx context.Context, hello *sessionpb.Hello, kind string) (*link, error) {
	l := &link{kind: kind, welcome: make(chan *sessionpb.ServerMessage, 1), gone: make(chan struct{})}
	onFrame := func(b []byte) { c.onFrame(l, b) }
	var closeOnce sync.Once
	onClose := func(err error) {
		closeOnce.Do(func() {
			l.err = err
			close(l.gone)
			c.onTransportClosed(l, err)
		})
	}
	var t transport
	var err error
	cfg := c.cfg
	cfg.URL = c.URL()
	c.mu.Lock()
	if c.tryURL != "" {
		cfg.URL = c.tryURL
	}
	c.mu.Unlock()
	switch kind {
	case "ws":
		t, err = wsconn.Dial(ctx, cfg.URL, cfg.Dial, onFrame, onClose)
	case "poll":
		t, err = dialPoll(ctx, cfg, onFrame, onClose)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock() // the read goroutine reads l.t under c.mu
	l.t = t
	if len(hello.GetResumeToken()) > 0 {
		// Until this handshake ends, a SESSION_MOVED on the old connection
		// is this very resume (transportOnly).
		c.resuming++
		defer func() {
			c.mu.Lock()
			c.resuming--
			c.mu.Unlock()
		}()
	}
	c.mu.Unlock()
	b := netcode.Marshal(&sessionpb.ClientMessage{RequestId: c.nextRID.Add(1), Body: &sessionpb.ClientMessage_Hello{Hello: hello}})
	if err := l.t.Send(b); err != nil {
		_ = l.t.Close()
		return nil, fmt.Errorf("client: send hello: %w", err)
	}
	c.bytesOut.Add(uint64(len(b)))
	select {
	case m := <-l.welcome:
		if mv := m.GetMove(); mv != nil {
			_ = l.t.Close()
			return nil, fmt.Errorf("%w to %s", errFollowMove, mv.GetAddress())
		}
		if e := m.GetError(); e != nil {
			_ = l.t.Close()
			return nil, &netcode.Error{Code: e.Code, Message: e.Message, Fatal: e.Fatal}
		}
		return l, nil
	case <-l.gone:
		return nil, fmt.Errorf("client: connection closed during the handshake: %w", l.err)
	case <-ctx.Done():
		c.mu.Lock()
		l.late = true
		c.mu.Unlock()
		_ = l.t.Close()
		return nil, fmt.Errorf("client: handshake: %w", ctx.Err())
	}
}

// restore takes the numbering and the room of a saved session before its
// resume (Config.Resume).
func (c *Conn) restore(sv *Saved) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeq, c.ackedSeq = sv.LastSeq, sv.LastSeq
	c.restored = true
	c.inputs.nextSeq, c.inputs.acked = sv.InputSeq, sv.InputSeq
	if len(sv.Joined) == 0 {
		return nil
	}
	var m sessionpb.ServerMessage
	if err := netcode.DecodeServer(sv.Joined, &m); err != nil || m.GetJoined() == nil {
		return fmt.Errorf("client: saved session: the Joined does not parse: %v", err)
	}
	schema, err := netcode.SchemaFromProto(m.GetJoined().GetSchema())
	if err != nil {
		return fmt.Errorf("client: saved session: %w", err)
	}
	c.joined, c.schema = m.GetJoined(), schema
	return nil
}

// Save returns what another Conn needs to resume this session
// (Config.Resume). The token in it is spent by that resume; call Save
// again after any resume. Reliable frames the server has not acknowledged
// yet are not in it: a resume from it loses them.
func (c *Conn) Save() Saved {
	c.sendMu.Lock() // the input numbering
	defer c.sendMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	sv := Saved{Token: append([]byte(nil), c.token...), LastSeq: c.lastSeq, InputSeq: c.inputs.nextSeq}
	if c.joined != nil {
		sv.Joined = netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Joined{Joined: c.joined}})
	}
	return sv
}

// URL is the WebSocket URL of the server the session is on (Config.URL
// until a redirect moves it).
func (c *Conn) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// Welcome is the server's answer to the latest Hello.
func (c *Conn) Welcome() *sessionpb.Welcome { return c.welcome.Load() }

// Transport is the kind of the transport in use ("ws" or "poll"), or ""
// while reconnecting.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.cur.kind
}

// RTT is the round-trip time the server last measured with heartbeats.
func (c *Conn) RTT() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rtt
}

// Done is closed when the session has ended; Err tells why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the session ended, nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Close ends the session: it tells the server goodbye (the seat is freed at
// once, not held) and closes the transport. It waits for the Conn's
// goroutines, unless the session had already ended (Close may then be
// called from OnClose).
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closing = true
	cur, ended := c.cur, c.closeErr != nil
	c.mu.Unlock()
	if ended {
		return nil
	}
	if cur != nil {
		c.sendMu.Lock()
		_ = cur.t.Send(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Bye{Bye: &sessionpb.Bye{}}}))
		c.sendMu.Unlock()
		_ = cur.t.Close()
	}
	c.finish(ErrClosed)
	c.wg.Wait()
	return nil
}

// Drop closes the transport without a goodbye, as a network failure would:
// the session is held by the server and the Conn reconnects and resumes it.
// For tests, and for clients that know their network changed.
func (c *Conn) Drop() {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil {
		_ = cur.t.Close()
	}
}

// finish ends the session for good with err (once).
func (c *Conn) finish(err error) {
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return
	}
	if !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.closeErr = err
	cur := c.cur
	c.cur = nil
	c.mu.Unlock()
	if cur != nil {
		_ = cur.t.Close()
	}
	close(c.done)
	if c.cfg.OnClose != nil {
		c.cfg.OnClose(err)
	}
}

// onTransportClosed runs once per transport, when it ends.
func (c *Conn) onTransportClosed(l *link, err error) {
	c.mu.Lock()
	if c.cur != l {
		c.mu.Unlock()
		return // a handshake that failed, or a transport already replaced
	}
	c.cur = nil
	ending, closing := c.ending, c.closing
	c.mu.Unlock()
	switch {
	case closing:
		return
	case ending != nil:
		c.finish(ending)
		return
	case c.cfg.Reconnect.Disabled:
		if err == nil {
			err = errors.New("transport closed")
		}
		c.finish(err)
		return
	}
	if c.cfg.OnDisconnect != nil {
		c.cfg.OnDisconnect(err)
	}
	c.wg.Go(func() { c.reconnect(time.Now()) })
}

// reconnect resumes the session on a new transport, with backoff, until it
// succeeds, the server refuses, or the hold window has passed.
func (c *Conn) reconnect(lost time.Time) {
	c.mu.Lock()
	hold := c.hold
	if hold <= 0 {
		hold = 30 * time.Second
	}
	deadline := lost.Add(hold)
	c.lostAt = lost
	c.mu.Unlock()
	unreachable := 0 // attempts whose server could not be reached (no answer at all)
	notYet := false  // the last attempt was told to retry: the fleet is restoring the session
	for n := 0; ; n++ {
		wait := c.cfg.Reconnect.Delay(n, c.rnd)
		if notYet {
			// Restored within moments (a heartbeat or two): keep asking
			// often rather than backing off to seconds.
			wait = c.cfg.Reconnect.Delay(min(n, 2), c.rnd)
		}
		c.mu.Lock()
		c.tryURL = ""
		if c.moveTo != "" {
			// A Move: go there at once (its address is c.url already).
			c.moveTo, wait = "", 0
		} else if unreachable > 0 && unreachable%2 == 1 && len(c.peers) > 0 {
			// The server does not answer (it may have crashed): every
			// other attempt asks another server of the fleet, which
			// knows where the session went.
			c.tryURL = c.peers[(unreachable/2)%len(c.peers)]
		}
		c.mu.Unlock()
		if time.Now().Add(wait).After(deadline) {
			c.finish(fmt.Errorf("%w: not resumed within the server's hold window of %v", ErrSessionLost, hold))
			return
		}
		select {
		case <-time.After(wait):
		case <-c.done:
			return
		}
		c.mu.Lock()
		c.attempts = n + 1
		hello := c.hello()
		c.mu.Unlock()
		c.connectMu.Lock()
		if c.Transport() != "" {
			c.connectMu.Unlock()
			return // an upgrade attempt got there first
		}
		c.mu.Lock() // the token may have changed while waiting for connectMu
		hello.ResumeToken, hello.LastSeq, hello.LastTick = c.token, c.lastSeq, c.ackTick
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), min(c.cfg.Reconnect.AttemptTimeout, time.Until(deadline)))
		l, err := c.connect(ctx, hello, c.cfg.Transport)
		cancel()
		c.connectMu.Unlock()
		var pe *netcode.Error
		switch {
		case err == nil:
			c.mu.Lock()
			closing := c.closing
			c.mu.Unlock()
			if closing {
				_ = l.t.Close()
				return
			}
			c.resumes.Add(1)
			if l.kind == "poll" && c.cfg.Transport == "auto" {
				c.wg.Go(c.probeUpgrade)
			}
			return
		case errors.As(err, &pe) && pe.Fatal:
			c.finish(fmt.Errorf("%w: %w", ErrSessionLost, pe))
			return
		case errors.As(err, &pe):
			notYet = true // not here yet: try again soon
		case errors.Is(err, errFollowMove):
			// Sent on: the next attempt goes there at once.
		default:
			notYet = false
			unreachable++
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// watchdog drops a transport that has delivered nothing (not even a
// heartbeat) for the server's heartbeat timeout: a stalled path that never
// closes. The reconnection follows. It exits when the session ends.
func (c *Conn) watchdog() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			c.mu.Lock()
			cur, last, limit := c.cur, c.lastFrame, c.hbTimeout
			c.mu.Unlock()
			if cur != nil && now.Sub(last) > limit {
				_ = cur.t.Close()
			}
		}
	}
}

// send writes a message on the current transport. Reliable messages get the
// next sequence number and are kept until the server acknowledges them:
// while the transport is down they wait and are sent after the resume.
func (c *Conn) send(m *sessionpb.ClientMessage, reliable bool) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	if c.closeErr != nil {
		err := c.closeErr
		c.mu.Unlock()
		return err
	}
	if reliable {
		if len(c.unacked) >= c.cfg.MaxUnacked {
			c.mu.Unlock()
			return ErrBackpressure
		}
		c.outSeq++
		m.Seq = c.outSeq
	}
	m.AckSeq = c.lastSeq
	cur := c.cur
	if cur != nil {
		c.ackedSeq = c.lastSeq
	}
	b := netcode.Marshal(m)
	if reliable {
		c.unacked = append(c.unacked, sentFrame{m.Seq, b})
	}
	c.mu.Unlock()
	if cur == nil {
		return nil // reliable: sent after the resume; others: dropped
	}
	if err := cur.t.Send(b); err != nil {
		_ = cur.t.Close() // the reconnection resends what matters
		return nil
	}
	c.bytesOut.Add(uint64(len(b)))
	return nil
}

// request sends m with a fresh request id and waits for the reply. A reply
// that is an Error comes back as a *netcode.Error.
func (c *Conn) request(ctx context.Context, m *sessionpb.ClientMessage) (*sessionpb.ServerMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
	}
	rid := c.nextRID.Add(1)
	ch := make(chan *sessionpb.ServerMessage, 1)
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
	if err := c.send(m, true); err != nil {
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
func (c *Conn) ListRooms(ctx context.Context) ([]*sessionpb.RoomInfo, error) {
	r, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}})
	if err != nil {
		return nil, err
	}
	return r.GetRoomList().GetRooms(), nil
}

// CreateRoom opens a room with capacity seats (0: the server's default).
func (c *Conn) CreateRoom(ctx context.Context, capacity uint32) (*sessionpb.RoomInfo, error) {
	r, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: capacity, Game: c.cfg.Game}}})
	if err != nil {
		return nil, err
	}
	return r.GetRoomCreated().GetRoom(), nil
}

// Join takes a seat in roomID, or quick-joins when roomID is empty; with
// spectate it watches instead. Snapshots start arriving right after.
//
// In a fleet, the server may answer with a Redirect to the server that
// hosts the room: Join follows it (up to 3 servers) by moving the Conn
// there (a new session; the old one is ended) and joining with the seat
// reservation. A quick join whose reserved seat is gone when it arrives
// (the room filled or closed, that server began draining) quick-joins
// again from there. Requests still waiting for an answer from the old
// server when the Conn moves fail.
func (c *Conn) Join(ctx context.Context, roomID string, spectate bool) (*sessionpb.Joined, error) {
	quick := roomID == ""
	reservation := ""
	for hops := 0; ; hops++ {
		r, err := c.request(ctx, c.joinMessage(roomID, spectate, reservation))
		var pe *netcode.Error
		if err != nil && reservation != "" && quick && errors.As(err, &pe) && seatGone(pe.Code) {
			roomID, reservation = "", ""
			r, err = c.request(ctx, c.joinMessage("", spectate, ""))
		}
		if err != nil {
			return nil, err
		}
		if red := r.GetRedirect(); red != nil {
			if hops >= maxRedirects {
				return nil, fmt.Errorf("client: join redirected more than %d times", maxRedirects)
			}
			if err := c.move(ctx, red.GetAddress()); err != nil {
				return nil, fmt.Errorf("client: follow redirect to %s: %w", red.GetAddress(), err)
			}
			roomID, spectate, reservation = red.GetRoomId(), red.GetSpectate(), red.GetReservation()
			continue
		}
		j := r.GetJoined()
		if j == nil {
			return nil, fmt.Errorf("client: expected Joined, got %T", r.Body)
		}
		return j, nil
	}
}

// maxRedirects bounds the servers one Join is redirected to.
const maxRedirects = 3

func (c *Conn) joinMessage(roomID string, spectate bool, reservation string) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{
		RoomId: roomID, Spectate: spectate, Reservation: reservation, Game: c.cfg.Game}}}
}

// seatGone reports whether a refused reservation is worth a new quick join.
func seatGone(code sessionpb.ErrorCode) bool {
	switch code {
	case sessionpb.ErrorCode_ERROR_CODE_ROOM_FULL, sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND,
		sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, sessionpb.ErrorCode_ERROR_CODE_FLEET_UNAVAILABLE,
		sessionpb.ErrorCode_ERROR_CODE_RESERVATION_INVALID, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_USED,
		sessionpb.ErrorCode_ERROR_CODE_RESERVATION_EXPIRED:
		return true
	}
	return false
}

// move starts a new session on the server at url (the same transport
// choice) and makes it the Conn's: its Welcome resets the session state
// (startOverLocked) and ends the old session with Bye. On failure the
// Conn stays where it was.
func (c *Conn) move(ctx context.Context, url string) error {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	c.mu.Lock()
	prev, wasPoll := c.url, c.cur != nil && c.cur.kind == "poll"
	c.url = url
	c.mu.Unlock()
	l, err := c.connect(ctx, c.hello(), c.cfg.Transport)
	if err != nil {
		c.mu.Lock()
		c.url = prev
		c.mu.Unlock()
		return err
	}
	c.moves.Add(1)
	if l.kind == "poll" && c.cfg.Transport == "auto" && !wasPoll {
		c.wg.Go(c.probeUpgrade)
	}
	return nil
}

// errFollowMove fails a resume that the server answered with a Move (the
// session was handed to another server while this client was away): the
// reconnection tries again there at once.
var errFollowMove = errors.New("client: session moved")

// errMoved answers requests the old server never answered.
var errMoved = &sessionpb.Error{Code: sessionpb.ErrorCode_ERROR_CODE_INTERNAL,
	Message: "client: the session moved to another server before this was answered"}

// startOverLocked forgets the old session's state when a new session
// begins on the same Conn (c.mu is held).
func (c *Conn) startOverLocked() {
	c.lastSeq, c.ackedSeq, c.outSeq = 0, 0, 0
	clear(c.unacked)
	c.unacked = c.unacked[:0]
	c.joined = nil
	c.history.reset()
	c.ackTick, c.sentTick = 0, 0
	for rid, ch := range c.waiters {
		select {
		case ch <- &sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_Error{Error: errMoved}}:
		default:
		}
	}
}

// Leave gives up the seat.
func (c *Conn) Leave(ctx context.Context) error {
	_, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}})
	return err
}

// Ping measures one round trip through the server's message handling.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.request(ctx, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Ping{Ping: &sessionpb.Ping{Time: uint64(start.UnixNano())}}})
	return time.Since(start), err
}

// Joined returns the current room's Joined message, or nil outside a room.
func (c *Conn) Joined() *sessionpb.Joined {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined
}

// SendInput numbers input (a game's bytes, at most game.MaxInputSize) with
// the next sequence number and sends it, together with up to Config.Resend
// older inputs the server has not acknowledged, and the newest snapshot
// tick as an acknowledgement. With Config.InputBatch k above 1 an input is
// held until k wait or a snapshot arrived since the last frame (whose
// acknowledgement then goes at once); the frame carries the held ones. viewTick, when not 0, goes with the batch as
// its view tick (the tick of the world the player saw: lag compensation).
// It returns the sequence number. While the transport is down the input is
// kept (and resent after the resume if still unacknowledged); an error
// means the session ended. input is copied.
func (c *Conn) SendInput(input []byte, viewTick uint32) (uint32, error) {
	if len(input) > game.MaxInputSize {
		return 0, fmt.Errorf("client: input of %d bytes, at most %d", len(input), game.MaxInputSize)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	if c.closeErr != nil {
		err := c.closeErr
		c.mu.Unlock()
		return 0, err
	}
	seq := c.inputs.add(input, time.Now())
	if c.cfg.InputBatch > 1 {
		// Held until InputBatch inputs wait, or sooner when a snapshot
		// arrived since the last frame: its acknowledgement rides at once,
		// so the server's next delta is against it.
		if c.held++; c.held < c.cfg.InputBatch && c.ackTick <= c.sentTick {
			c.mu.Unlock()
			return seq, nil
		}
		c.held = 0
	}
	n := c.cfg.Resend + c.cfg.InputBatch
	if c.cur != nil {
		if _, queues := c.cur.t.(latestSender); queues {
			// A queued batch is replaced by the next one, so each must
			// carry every input not acknowledged yet (up to the
			// protocol's 32), or the replaced batch's inputs would be lost.
			n = maxBatch
		}
	}
	first, batch := c.inputs.unacked(n)
	c.batchBuf = c.batchBuf[:0]
	for i := range batch {
		c.batchBuf = append(c.batchBuf, batch[i].bytes())
	}
	ackTick, ackSeq, cur := c.ackTick, c.lastSeq, c.cur
	c.sentTick = ackTick
	if cur != nil {
		c.ackedSeq = c.lastSeq
	}
	c.mu.Unlock()
	if cur == nil {
		return seq, nil // resent after the resume if still unacknowledged
	}
	// A transport that queues (long-polling) replaces a batch still waiting
	// there: the new one carries the newest inputs. It keeps the frame, so
	// the frame is its own; the WebSocket writes it before Send returns.
	var frame []byte
	ls, queues := cur.t.(latestSender)
	if queues {
		frame = netcode.AppendInputFrame(nil, ackSeq, first, c.batchBuf, ackTick, viewTick)
	} else {
		c.inBuf = netcode.AppendInputFrame(c.inBuf[:0], ackSeq, first, c.batchBuf, ackTick, viewTick)
		frame = c.inBuf
	}
	var err error
	if queues {
		err = ls.SendLatest(frame)
	} else {
		err = cur.t.Send(frame)
	}
	if err != nil {
		_ = cur.t.Close() // the reconnection resends what matters
		return seq, nil
	}
	c.bytesOut.Add(uint64(len(frame)))
	return seq, nil
}

// MaxInputBatch is the most inputs Config.InputBatch may hold for one
// frame.
const MaxInputBatch = 4

// maxBatch is the most inputs one InputBatch may carry (PROTOCOL.md 6.2).
const maxBatch = 32

// latestSender is a transport that can replace a queued frame by a newer
// one (long-polling: one fresh input batch per POST instead of a backlog
// that would sit in the server's input queue as latency).
type latestSender interface {
	SendLatest(frame []byte) error
}

// Ack sends an acknowledgement of the newest snapshot without inputs; a
// spectator (or a player idle for a while) calls it after snapshots.
func (c *Conn) Ack() error {
	c.mu.Lock()
	tick := c.ackTick
	c.mu.Unlock()
	return c.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: &sessionpb.InputBatch{AckTick: tick}}}, false)
}

// Stats are a connection's traffic counters (frame payload bytes).
type Stats struct {
	BytesIn, BytesOut, FramesIn uint64
	Resumes                     uint64 // successful resumes after a lost connection
	Upgrades                    uint64 // moves from polling to WebSocket
	Moves                       uint64 // sessions moved to another server by a redirect
	Handoffs                    uint64 // sessions handed to another server by a drain (Move) and resumed there
	Duplicates                  uint64 // replayed reliable frames dropped as already processed
}

// Stats returns the traffic counters.
func (c *Conn) Stats() Stats {
	return Stats{BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), FramesIn: c.framesIn.Load(),
		Resumes: c.resumes.Load(), Upgrades: c.upgrades.Load(), Duplicates: c.duplicates.Load(), Moves: c.moves.Load(),
		Handoffs: c.handoffs.Load()}
}

// onFrame runs on a transport's read goroutine for every server frame.
func (c *Conn) onFrame(l *link, data []byte) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.bytesIn.Add(uint64(len(data)))
	c.framesIn.Add(1)
	if tick, age, ack, state, ok := netcode.ParseSnapshotFrame(data); ok {
		// Snapshots, most of what arrives, skip the protobuf runtime.
		c.mu.Lock()
		current := l.up && c.cur == l
		if current {
			c.lastFrame = time.Now()
		}
		c.mu.Unlock()
		if current {
			if err := c.applySnapshot(tick, age, ack, state, len(data)); err != nil {
				c.fail(l, err)
			}
		}
		return
	}
	if err := netcode.DecodeServer(data, &c.msg); err != nil {
		if errors.Is(err, netcode.ErrUnknownMessage) {
			c.unknown.Add(1) // a newer server's message: ignore it
			return
		}
		c.fail(l, err)
		return
	}
	c.mu.Lock()
	if !l.up {
		c.mu.Unlock()
		c.handshakeFrame(l)
		return
	}
	current := c.cur == l
	if current {
		c.lastFrame = time.Now()
	}
	c.mu.Unlock()
	if !current {
		return // a transport the session moved away from
	}
	if a := c.msg.GetAckSeq(); a != 0 {
		c.trim(a)
	}
	if seq := c.msg.GetSeq(); seq != 0 {
		c.mu.Lock()
		last := c.lastSeq
		if seq <= last {
			c.mu.Unlock()
			c.duplicates.Add(1)
			return
		}
		if seq != last+1 {
			c.mu.Unlock()
			c.fail(l, fmt.Errorf("client: server frame %d after %d: a reliable frame is missing", seq, last))
			return
		}
		c.lastSeq = seq
		ackDue := seq-c.ackedSeq >= ackEvery
		c.mu.Unlock()
		c.dispatch(l, len(data))
		if ackDue {
			_ = c.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}}, false)
		}
		return
	}
	c.dispatch(l, len(data))
}

// ackEvery is how many reliable server frames the client processes before
// it acknowledges them on its own (inputs and heartbeats carry acks too).
const ackEvery = 8

// handshakeFrame handles a frame on a transport whose Hello is unanswered:
// the Welcome makes it the session's transport.
func (c *Conn) handshakeFrame(l *link) {
	switch b := c.msg.Body.(type) {
	case *sessionpb.ServerMessage_Welcome:
		w := b.Welcome
		c.sendMu.Lock() // no other send until the resend below is done
		c.mu.Lock()
		if l.late {
			c.mu.Unlock()
			c.sendMu.Unlock()
			return // its connect gave up; the transport is closing
		}
		// A new session on a Conn that had one: a redirect moved it (move).
		fresh := !w.GetResumed() && c.welcome.Load() != nil
		if fresh {
			c.startOverLocked()
		}
		old := c.cur
		c.cur, l.up = l, true
		c.token = w.GetResumeToken()
		c.hold = time.Duration(w.GetHoldMs()) * time.Millisecond
		c.peers = w.GetPeers()
		if w.GetMoved() {
			// Another server holds the room now. After a crash it goes on
			// from a checkpoint, at an older tick: take its snapshots
			// from there (the history stays: after a drain the first one
			// is a delta from the newest held).
			c.ackTick, c.afterMove = 0, true
		}
		if c.tryURL != "" {
			c.url, c.tryURL = c.tryURL, "" // resumed at a peer: the session is there now
		}
		if t := w.GetHeartbeatTimeoutMs(); t != 0 {
			c.hbTimeout = time.Duration(t) * time.Millisecond
		}
		c.lastFrame = time.Now()
		t := l.t
		if w.GetResumed() && c.outSeq < c.msg.GetAckSeq() {
			// A session saved by another Conn (Config.Resume): number the
			// next reliable frame after what the server has processed.
			c.outSeq = c.msg.GetAckSeq()
		}
		c.trimLocked(c.msg.GetAckSeq())
		resend := make([][]byte, len(c.unacked))
		for i, f := range c.unacked {
			resend[i] = f.frame
		}
		c.mu.Unlock()
		c.welcome.Store(w)
		for _, f := range resend {
			if t.Send(f) != nil {
				break
			}
			c.bytesOut.Add(uint64(len(f)))
		}
		if fresh && old != nil && old != l {
			// End the session left behind at once rather than have its
			// server hold it.
			_ = old.t.Send(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Bye{Bye: &sessionpb.Bye{}}}))
		}
		c.sendMu.Unlock()
		if old != nil && old != l {
			// An upgrade: the old transport is done. Closed aside, since a
			// polling channel first lets its queue drain.
			c.wg.Go(func() { _ = old.t.Close() })
		}
		if w.GetMoved() {
			c.handoffs.Add(1)
		}
		if w.GetResumed() && c.cfg.OnResume != nil {
			c.mu.Lock()
			r := Resume{Transport: l.kind, Attempts: c.attempts, Moved: w.GetMoved()}
			if old == nil && !c.lostAt.IsZero() {
				r.Down = time.Since(c.lostAt) // a reconnection; an upgrade lost nothing
			}
			if r.Moved {
				r.Tick = c.moveTick
			}
			if r.Moved && !c.movedAt.IsZero() {
				r.Down = time.Since(c.movedAt)
			}
			c.movedAt = time.Time{}
			c.mu.Unlock()
			c.cfg.OnResume(r)
		}
		l.welcome <- &sessionpb.ServerMessage{Body: b}
	case *sessionpb.ServerMessage_Error:
		select {
		case l.welcome <- &sessionpb.ServerMessage{Body: b}:
		default:
		}
	case *sessionpb.ServerMessage_Move:
		c.followMove(b.Move)
		select {
		case l.welcome <- &sessionpb.ServerMessage{Body: b}:
		default:
		}
	}
	// Anything else before the Welcome (a heartbeat) is ignored.
}

// trim forgets the client's reliable frames the server acknowledged.
func (c *Conn) trim(seq uint32) {
	c.mu.Lock()
	c.trimLocked(seq)
	c.mu.Unlock()
}

func (c *Conn) trimLocked(seq uint32) {
	n := 0
	for n < len(c.unacked) && c.unacked[n].seq <= seq {
		n++
	}
	if n > 0 {
		k := copy(c.unacked, c.unacked[n:])
		clear(c.unacked[k:])
		c.unacked = c.unacked[:k]
	}
}

// dispatch handles one decoded frame of the current transport.
func (c *Conn) dispatch(l *link, size int) {
	switch b := c.msg.Body.(type) {
	case *sessionpb.ServerMessage_Snapshot:
		sn := b.Snapshot
		if err := c.applySnapshot(sn.Tick, sn.BaselineAge, sn.InputAck, sn.State, size); err != nil {
			c.fail(l, err)
		}
		return
	case *sessionpb.ServerMessage_Heartbeat:
		c.mu.Lock()
		c.rtt = time.Duration(b.Heartbeat.GetRttUs()) * time.Microsecond
		if p := b.Heartbeat.GetPeers(); len(p) > 0 {
			c.peers = p
		}
		c.mu.Unlock()
		_ = c.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{Time: b.Heartbeat.GetTime()}}}, false)
		return
	case *sessionpb.ServerMessage_Ack:
		return
	case *sessionpb.ServerMessage_Move:
		// The server handed the session to another: its connection closes
		// next, and the reconnection resumes there at once.
		c.followMove(b.Move)
		if c.cfg.OnMove != nil {
			c.cfg.OnMove(b.Move)
		}
		return
	case *sessionpb.ServerMessage_Token:
		c.mu.Lock()
		c.token = b.Token.GetResumeToken()
		c.mu.Unlock()
		return
	case *sessionpb.ServerMessage_Event:
		c.onEvent(b.Event)
		return
	case *sessionpb.ServerMessage_Joined:
		schema, err := netcode.SchemaFromProto(b.Joined.GetSchema())
		if err != nil {
			c.fail(l, err)
			return
		}
		c.mu.Lock()
		c.joined = b.Joined
		c.schema = schema
		c.history.reset()
		c.ackTick, c.sentTick = 0, 0
		c.mu.Unlock()
	case *sessionpb.ServerMessage_Left:
		c.leftRoom()
	case *sessionpb.ServerMessage_Roster:
		if c.cfg.OnRoster != nil {
			c.cfg.OnRoster(b.Roster)
		}
	case *sessionpb.ServerMessage_Error:
		e := &netcode.Error{Code: b.Error.Code, Message: b.Error.Message, Fatal: b.Error.Fatal}
		if e.Code == sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED {
			c.leftRoom()
		}
		if c.msg.RequestId == 0 {
			c.mu.Lock()
			ownResume := e.Code == sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED && c.resuming > 0
			if e.Fatal && !c.transportOnlyLocked(e.Code) && c.ending == nil {
				c.ending = e
			}
			c.mu.Unlock()
			if ownResume {
				return // the old connection's notice of our own resume: nothing wrong
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
			reply := &sessionpb.ServerMessage{}
			*reply = sessionpb.ServerMessage{RequestId: rid, Body: c.msg.Body}
			select {
			case ch <- reply:
			default: // a replayed reply whose request was already answered
			}
		}
	}
}

// followMove points the session at the server a Move names; the
// reconnection that follows the transport's close goes there without
// waiting.
func (c *Conn) followMove(m *sessionpb.Move) {
	if m.GetAddress() == "" {
		return
	}
	c.mu.Lock()
	c.url, c.moveTo, c.moveTick = m.GetAddress(), m.GetAddress(), m.GetTick()
	if c.movedAt.IsZero() {
		c.movedAt = time.Now()
	}
	c.mu.Unlock()
}

// transportOnlyLocked reports whether a fatal error ends only the
// connection (the session is held and the client resumes it): a timeout,
// or SESSION_MOVED while this client's own resume on another connection
// (an upgrade, a reconnection) is under way. Called with c.mu held.
func (c *Conn) transportOnlyLocked(code sessionpb.ErrorCode) bool {
	return code == sessionpb.ErrorCode_ERROR_CODE_TIMEOUT ||
		(code == sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED && c.resuming > 0)
}

func (c *Conn) leftRoom() {
	c.mu.Lock()
	c.joined = nil
	c.history.reset()
	c.ackTick, c.sentTick = 0, 0
	c.mu.Unlock()
}

// fail reports a broken stream from the server: the session cannot go on.
func (c *Conn) fail(l *link, err error) {
	c.mu.Lock()
	if c.ending == nil {
		c.ending = err
	}
	c.mu.Unlock()
	_ = l.t.Close()
}

// ErrUnknownBaseline means the server sent a delta against a snapshot this
// client no longer holds (or never had): a protocol violation.
var ErrUnknownBaseline = errors.New("client: snapshot delta against an unknown baseline")

func (c *Conn) applySnapshot(tick, age, inputAck uint32, state []byte, size int) error {
	c.mu.Lock()
	if c.joined == nil {
		c.mu.Unlock()
		return nil // a snapshot that crossed our leaving; nothing to apply it to
	}
	if tick <= c.ackTick {
		c.mu.Unlock()
		return nil // stale or repeated; the newest state stands
	}
	if c.afterMove {
		// The first snapshot after a move. The room may have gone back to
		// a checkpoint (its server crashed), so the states held past it
		// may be of a timeline that is gone: keep only this snapshot's
		// baseline (the state the room was saved at), if any.
		c.afterMove = false
		if age == 0 {
			c.history.reset()
		} else {
			c.history.keepOnly(tick - age)
		}
	}
	var out *game.Table
	if !c.cfg.SkipState {
		var base *game.Table
		if age != 0 {
			base = c.history.find(tick - age)
			if base == nil && c.restored {
				c.mu.Unlock()
				return nil // sent before the server heard that this Conn holds no state: a full one follows
			}
			if base == nil {
				c.mu.Unlock()
				return fmt.Errorf("%w: tick %d", ErrUnknownBaseline, tick-age)
			}
		}
		out = c.history.slot()
		if err := c.dec.Decode(out, base, c.schema, tick, state); err != nil {
			c.history.discard()
			c.mu.Unlock()
			return err
		}
	}
	c.ackTick = tick
	c.restored = false
	now := time.Now()
	acked := c.inputs.ack(inputAck, now)
	c.mu.Unlock()
	c.snap = Snapshot{Tick: tick, BaselineAge: age, InputAck: inputAck, State: out, Bytes: size}
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

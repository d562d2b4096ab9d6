// Package gateway is the server's front door: the HTTP routes, the
// WebSocket and long-polling endpoints, the sessions that outlive their
// transports (resume tokens, held seats, replay of what a client missed),
// heartbeats, and named events with their broadcast scopes.
//
// gateway imports the lobby, the room and netcode; nothing imports it but
// the server's main and tests.
package gateway

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/pollconn"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/token"
)

// Config is the gateway's settings; zero fields take defaults.
type Config struct {
	// WS holds the WebSocket limits (message size, timeouts).
	WS wsconn.ServerOptions
	// Poll holds the long-polling limits (body size, wait, POST rate). Its
	// MaxMessage defaults to WS.MaxMessage.
	Poll pollconn.ServerOptions
	// ReliableQueue bounds each session's unacknowledged reliable frames
	// (replies, events, roster); past it the session ends with
	// SLOW_CONSUMER. Default 256 (outbox.DefaultReliableLimit).
	ReliableQueue int
	// ReliableBytes bounds their bytes. Default 256 KiB.
	ReliableBytes int
	// HeldEvents is how many events a held session keeps for its resume:
	// past it the oldest it has not seen are dropped (counted), so a room's
	// chat never ends a held session. Default 64 (outbox.DefaultHeld), at
	// most half of ReliableQueue (room for what follows a resume).
	HeldEvents int
	// JoinTimeout bounds a join request. Default 5 s.
	JoinTimeout time.Duration
	// TickRate and SnapshotRate are announced in Welcome.
	TickRate, SnapshotRate uint32
	// MaxRoomSize bounds CreateRoom's capacity. Default 64.
	MaxRoomSize int
	// ServerName is announced in Welcome. Default "arena".
	ServerName string
	// Hold is how long a session (and its seat) outlives its transport.
	// Default 30 s.
	Hold time.Duration
	// Secret keys the resume tokens' HMAC. Default: 32 random bytes, so
	// tokens only work with this process.
	Secret []byte
	// TokenTTL is how long a resume token is valid; a session receives a
	// fresh one once its token is half that old. Default 1 h.
	TokenTTL time.Duration
	// Heartbeat is how often the server sends a Heartbeat on every
	// connection. Default 1 s.
	Heartbeat time.Duration
	// HeartbeatTimeout cuts a connection that sent nothing for this long
	// (its session is held). Default 5 s.
	HeartbeatTimeout time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, counts disconnects, handshake and token
	// failures, resumes and rejected inputs by reason. Default nil: not
	// counted.
	Metrics *metrics.Counters
	// Fleet, if not nil, is the room directory this server shares with the
	// other servers of its fleet (fleet.go): listings show every room,
	// joins may be redirected, EmitAll reaches every server. Default nil:
	// the server runs alone.
	Fleet Directory
	// Mover, if not nil, hands rooms to other servers of the fleet when
	// this one drains (MoveRooms, handoff.go). Default nil: a drain ends
	// the matches as on a lone server.
	Mover Mover
	// HandoffTimeout bounds one room's hand-off, from freezing it to the
	// other server's answer; past it the room ticks on here. Default 2 s.
	HandoffTimeout time.Duration
	// Locator, if not nil, records the sessions this server adopts and
	// finds where the fleet moved or restored a session this server does
	// not hold, so that a resume that comes here is sent there (and
	// Welcome lists the other servers). Default nil.
	Locator Locator
	// HandoffBytes bounds a room's hand-off bundle (its saved match and
	// its sessions' unacknowledged frames). Default 8 MiB.
	HandoffBytes int
	// Limits are the rate, connection, budget and origin limits (limits.go,
	// budgets.go).
	Limits Limits
	// SendBuffer fixes the kernel send buffer (SO_SNDBUF) of every
	// connection ConnState sees (and WS.SendBuffer, when that is 0, of
	// every WebSocket): a peer that stops reading then holds at most this
	// (the kernel doubles it) plus one snapshot and the reliable queue,
	// and is cut within the write timeout. -1 leaves the operating
	// system's autotuning (which grows it to megabytes). Default 64 KiB.
	SendBuffer int
}

// Fill sets defaults for zero fields.
func (c *Config) Fill() {
	if c.ReliableQueue <= 0 {
		c.ReliableQueue = outbox.DefaultReliableLimit
	}
	if c.ReliableBytes <= 0 {
		c.ReliableBytes = outbox.DefaultByteLimit
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 5 * time.Second
	}
	if c.MaxRoomSize <= 0 {
		c.MaxRoomSize = 64
	}
	if c.ServerName == "" {
		c.ServerName = "arena"
	}
	if c.Hold <= 0 {
		c.Hold = 30 * time.Second
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = time.Hour
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HandoffTimeout <= 0 {
		c.HandoffTimeout = 2 * time.Second
	}
	if c.HandoffBytes <= 0 {
		c.HandoffBytes = 8 << 20
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = 64 << 10
	}
	if c.WS.SendBuffer == 0 && c.SendBuffer > 0 {
		c.WS.SendBuffer = c.SendBuffer
	}
	c.Limits.fill(c.TickRate)
}

// Server serves clients. Create it with New.
type Server struct {
	cfg    Config
	lobby  *lobby.Lobby
	ws     *wsconn.Upgrader
	poll   *pollconn.Server
	signer *token.Signer
	log    *slog.Logger
	events *Events

	budget addrBudgets // what each remote address holds and spends (budgets.go)
	http   httpConns   // TCP connections per address (ConnState)
	rooms  roomIndex   // sessions seated in each room (index.go)
	list   listCache   // the room list (roomlist.go)

	mu       sync.Mutex // guards open, sessions, ended, endOrder, closed
	open     map[*conn]struct{}
	sessions map[token.SessionID]*session
	ended    map[token.SessionID]*list.Element // why recent sessions ended
	endOrder *list.List                        // of endedSession, oldest first
	closed   bool
	conns    sync.WaitGroup // transports and their heartbeat goroutines

	census     census       // guarded by mu
	drainUntil atomic.Int64 // unix nanos the drain ends; 0 when not draining (drain.go)

	protocolErrors    atomic.Uint64
	rejectedInputs    atomic.Uint64
	connections       atomic.Int64
	resumes           atomic.Uint64
	resumeFailures    atomic.Uint64
	holdExpired       atomic.Uint64
	heartbeatTimeouts atomic.Uint64
	eventsIn          atomic.Uint64
	unknownEvents     atomic.Uint64
	framesDropped     atomic.Uint64 // client frames dropped unread for a rate
	rtt               rttStats

	movesMu     sync.Mutex // guards moves
	moves       MoveStats
	movingLinks sync.WaitGroup // one per moved session's connection, until it wrote its Move
	moving      atomic.Int64   // of which not done
}

type endedSession struct {
	id      token.SessionID
	why     string
	movedTo string // the server it was handed to, if it was (handoff.go)
	roomID  string
	tick    uint32
}

// maxEnded bounds the memory of why sessions ended (oldest forgotten first).
const maxEnded = 4096

// New returns a gateway in front of l.
func New(l *lobby.Lobby, cfg Config) *Server {
	cfg.Fill()
	cfg.WS.Logger = cfg.Logger
	cfg.Poll.Logger = cfg.Logger
	if cfg.Poll.MaxMessage <= 0 {
		cfg.Poll.MaxMessage = cfg.WS.MaxMessage
	}
	s := &Server{
		cfg: cfg, lobby: l, ws: wsconn.NewUpgrader(cfg.WS), signer: token.NewSigner(cfg.Secret), log: cfg.Logger,
		open: map[*conn]struct{}{}, sessions: map[token.SessionID]*session{}, ended: map[token.SessionID]*list.Element{}, endOrder: list.New(),
	}
	s.budget.lim = &s.cfg.Limits
	s.events = newEvents(s)
	s.poll = pollconn.NewServer(cfg.Poll, s.openPoll)
	return s
}

// Handler returns the server's routes: GET /ws, the long-polling routes
// under /poll (GET, POST, DELETE) and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", s.guardEdge(http.HandlerFunc(s.serveWS)))
	mux.Handle("/poll", s.guardEdge(s.poll))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c := s.newConn("ws", ipOf(r))
	if !s.reserveIP(c.ip) {
		s.cfg.Metrics.HandshakeFailed(metrics.HandshakeConnLimit)
		http.Error(w, "too many connections from this address", http.StatusTooManyRequests)
		return
	}
	if !s.track(c) {
		s.releaseIP(c.ip)
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.untrack(c)
	s.conns.Go(func() { s.recovered(c, "heartbeat", func() { s.heartbeat(c) }) })
	if err := s.ws.Serve(w, r, c.link, c); err != nil {
		c.link.Close(nil, nil)
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		s.cfg.Metrics.HandshakeFailed(metrics.HandshakeUpgrade)
		c.refused = true // counted as a handshake failure, not a disconnect
	}
}

// openPoll starts a long-polling channel: pollconn calls it for a POST
// without a channel id.
func (s *Server) openPoll(r *http.Request) (*outbox.Link, pollconn.Handler, func(), error) {
	c := s.newConn("poll", ipOf(r))
	if !s.reserveIP(c.ip) {
		s.cfg.Metrics.HandshakeFailed(metrics.HandshakeConnLimit)
		return nil, nil, nil, pollconn.ErrTooMany
	}
	if !s.track(c) {
		s.releaseIP(c.ip)
		return nil, nil, nil, pollconn.ErrShuttingDown
	}
	s.conns.Go(func() { s.recovered(c, "heartbeat", func() { s.heartbeat(c) }) })
	return c.link, c, func() { s.untrack(c) }, nil
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.open[c] = struct{}{}
	s.census.opened(c)
	s.conns.Add(1)
	s.connections.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.releaseIP(c.ip)
	s.mu.Lock()
	delete(s.open, c)
	s.census.retire(c, s.cfg.Metrics)
	s.mu.Unlock()
	s.connections.Add(-1)
	s.conns.Done()
}

var (
	errShuttingDown    = errors.New("gateway: shutting down")
	errTooManySessions = errors.New("gateway: too many sessions")
)

func (s *Server) newSession(name, ip string, redirects, moves bool) (*session, error) {
	p := &session{
		srv: s, id: token.NewSessionID(), name: name, ip: ip, redirects: redirects, moves: moves,
		out: outbox.NewLimits(outbox.Limits{Frames: s.cfg.ReliableQueue, Bytes: s.cfg.ReliableBytes, Held: s.cfg.HeldEvents}),
		lim: newSessionLimits(&s.cfg.Limits),
	}
	p.display.Store(&name)
	p.inputs = p.inputsBuf[:0] // the scratch lives in the session: one cache line less per input
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errShuttingDown
	}
	if len(s.sessions) >= s.cfg.Limits.MaxSessions {
		return nil, errTooManySessions
	}
	if err := s.budget.reserveSession(ip); err != nil {
		return nil, err
	}
	s.sessions[p.id] = p
	return p, nil
}

// lookup finds a live session, or says why it ended.
func (s *Server) lookup(id token.SessionID) (*session, endedSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.sessions[id]; p != nil {
		return p, endedSession{}
	}
	if e := s.ended[id]; e != nil {
		return nil, e.Value.(endedSession)
	}
	return nil, endedSession{why: "unknown session (the server may have restarted)"}
}

// forget removes an ended session and remembers why it ended.
func (s *Server) forget(p *session, reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[p.id] != p {
		return
	}
	delete(s.sessions, p.id)
	s.budget.releaseSession(p.ip)
	s.census.retireSession(p)
	s.ended[p.id] = s.endOrder.PushBack(endedSession{id: p.id, why: describe(reason, s.cfg.Hold),
		movedTo: p.movedTo, roomID: p.movedRoom, tick: p.movedTick})
	if s.endOrder.Len() > maxEnded {
		old := s.endOrder.Remove(s.endOrder.Front()).(endedSession)
		delete(s.ended, old.id)
	}
}

// Stats are the gateway's counters and gauges, for metrics.
type Stats struct {
	Connections       int64  // open transports (WebSocket and polling), sessions or not
	WSConnections     int64  // sessions carried by a WebSocket
	PollConnections   int64  // sessions carried by long-polling
	Sessions          int64  // live sessions, attached or held
	HeldSessions      int64  // of which without a transport (seat held)
	ProtocolErrors    uint64 // sessions or connections closed for a fatal protocol error
	RejectedInputs    uint64 // inputs dropped for out-of-range values
	Resumes           uint64 // successful resumes
	ResumeFailures    uint64 // refused resumes (bad, expired or used token, ended session)
	HoldExpired       uint64 // sessions ended because nobody resumed them in time
	HeartbeatTimeouts uint64 // connections cut for silence
	EventsIn          uint64 // client events handled
	UnknownEvents     uint64 // client events without a handler
	RTT               RTTStats
}

// Stats returns the gateway's counters. It walks the sessions: call it
// about once a second, not per frame.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections: s.connections.Load(), ProtocolErrors: s.protocolErrors.Load(), RejectedInputs: s.rejectedInputs.Load(),
		Resumes: s.resumes.Load(), ResumeFailures: s.resumeFailures.Load(), HoldExpired: s.holdExpired.Load(),
		HeartbeatTimeouts: s.heartbeatTimeouts.Load(), RTT: s.rtt.snapshot(),
		EventsIn: s.eventsIn.Load(), UnknownEvents: s.unknownEvents.Load(),
	}
	for _, p := range s.liveSessions() {
		st.Sessions++
		p.mu.Lock()
		switch {
		case p.link == nil:
			st.HeldSessions++
		case p.kind == "ws":
			st.WSConnections++
		default:
			st.PollConnections++
		}
		p.mu.Unlock()
	}
	return st
}

func (s *Server) liveSessions() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := make([]*session, 0, len(s.sessions))
	for _, p := range s.sessions {
		ps = append(ps, p)
	}
	return ps
}

// DropConnections cuts every transport at once, as a network failure
// would: sessions are held and clients may resume. For operations (a
// listener swap) and for resilience tests and benchmarks.
func (s *Server) DropConnections() int {
	n := 0
	for _, p := range s.liveSessions() {
		p.mu.Lock()
		l := p.link
		p.mu.Unlock()
		if l != nil {
			l.Close(nil, errDropped)
			n++
		}
	}
	return n
}

var errDropped = errors.New("gateway: connection dropped by the server")

// Close refuses new connections, ends every session telling its client the
// server is going away, and waits for the transports to end (or ctx).
// Hijacked WebSocket connections are not closed by http.Server.Shutdown;
// this does.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	bye := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "server is shutting down")
	for _, p := range s.liveSessions() {
		p.end(bye, bye.Frame(0))
	}
	for _, c := range conns {
		c.link.Close(bye.Frame(0), bye) // connections still in their handshake
	}
	s.poll.Close()
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

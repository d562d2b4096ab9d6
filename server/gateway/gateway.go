// Package gateway is the server's front door: the HTTP routes, the
// WebSocket endpoint, and the peer that speaks the protocol for one client
// (handshake, lobby requests, inputs) whatever its transport.
//
// gateway imports the lobby, the room and netcode; nothing imports it but
// the server's main and tests.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
)

// Config is the gateway's settings; zero fields take defaults.
type Config struct {
	// WS holds the WebSocket limits (message size, timeouts).
	WS wsconn.ServerOptions
	// ReliableQueue bounds each client's queue of replies and events; a
	// client that lets it fill is disconnected. Default 64.
	ReliableQueue int
	// JoinTimeout bounds a join request. Default 5 s.
	JoinTimeout time.Duration
	// TickRate and SnapshotRate are announced in Welcome.
	TickRate, SnapshotRate uint32
	// MaxRoomSize bounds CreateRoom's capacity. Default 64.
	MaxRoomSize int
	// ServerName is announced in Welcome. Default "arena".
	ServerName string
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if not nil, counts disconnects, handshake failures and
	// rejected inputs by reason. Default nil: not counted.
	Metrics *metrics.Counters
}

// Server serves clients. Create it with New.
type Server struct {
	cfg   Config
	lobby *lobby.Lobby
	ws    *wsconn.Upgrader
	log   *slog.Logger

	mu    sync.Mutex // guards peers
	peers map[*peer]struct{}
	conns sync.WaitGroup

	census census // guarded by mu

	protocolErrors atomic.Uint64
	rejectedInputs atomic.Uint64
	connections    atomic.Int64
}

// New returns a gateway in front of l.
func New(l *lobby.Lobby, cfg Config) *Server {
	if cfg.ReliableQueue <= 0 {
		cfg.ReliableQueue = outbox.DefaultReliableLimit
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 5 * time.Second
	}
	if cfg.MaxRoomSize <= 0 {
		cfg.MaxRoomSize = 64
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "arena"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.WS.Logger = cfg.Logger
	return &Server{cfg: cfg, lobby: l, ws: wsconn.NewUpgrader(cfg.WS), log: cfg.Logger, peers: map[*peer]struct{}{}}
}

// Handler returns the server's routes: GET /ws and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	p := &peer{srv: s, out: outbox.New(s.cfg.ReliableQueue), transport: metrics.TransportWS}
	if !s.track(p) {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.untrack(p)
	if err := s.ws.Serve(w, r, p.out, p); err != nil {
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		s.cfg.Metrics.HandshakeFailed(metrics.HandshakeUpgrade)
		p.refused = true // counted as a handshake failure, not a disconnect
	}
}

func (s *Server) track(p *peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		return false
	}
	s.peers[p] = struct{}{}
	s.census.opened(p.transport)
	s.conns.Add(1)
	s.connections.Add(1)
	return true
}

func (s *Server) untrack(p *peer) {
	s.mu.Lock()
	delete(s.peers, p)
	s.census.retire(p, s.cfg.Metrics)
	s.mu.Unlock()
	s.connections.Add(-1)
	s.conns.Done()
}

// Stats are the gateway's counters.
type Stats struct {
	Connections    int64
	ProtocolErrors uint64 // connections closed for a fatal protocol error
	RejectedInputs uint64 // inputs dropped for out-of-range values
}

// Stats returns the gateway's counters.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.connections.Load(), ProtocolErrors: s.protocolErrors.Load(), RejectedInputs: s.rejectedInputs.Load()}
}

// Close refuses new connections, tells every connected client the server is
// going away, and waits for their connections to end (or ctx). Hijacked
// WebSocket connections are not closed by http.Server.Shutdown; this does.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	peers := s.peers
	s.peers = nil
	s.mu.Unlock()
	bye := netcode.Fatalf(arenapb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "server is shutting down")
	for p := range peers {
		p.out.Close(bye.Frame(0), bye)
	}
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

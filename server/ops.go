package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arenaserver/arena/server/dashboard"
	"github.com/arenaserver/arena/server/drain"
	"github.com/arenaserver/arena/server/fleet"
	"github.com/arenaserver/arena/server/gateway"
	"github.com/arenaserver/arena/server/health"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/play"
	"github.com/arenaserver/arena/server/room"
)

// ops is the operating side of the server: metrics, readiness, the drain
// state, the dashboard and the admin (pprof) listener.
type ops struct {
	counters *metrics.Counters
	totals   *room.Totals
	drain    drain.State
	reg      *prometheus.Registry
	dash     *dashboard.Dashboard
	ready    *health.Checker
	admin    *http.Server    // nil unless -admin-addr is set
	fleet    *fleet.Node     // nil unless -redis is set
	gw       *gateway.Server // set by wire
	play     *play.Handler   // set by wire
}

func newOps() *ops { return &ops{counters: &metrics.Counters{}, totals: &room.Totals{}} }

// wire connects the sources once the lobby and the gateway exist.
func (x *ops) wire(o options, log *slog.Logger, lob *lobby.Lobby, gw *gateway.Server) {
	x.gw = gw
	x.play = play.New(play.Config{Dir: o.playDir, Logger: log})
	draining := func() bool { return x.drain.Draining() }
	x.reg = metrics.NewRegistry(metrics.Sources{
		Rooms: lob.List, Census: gw.Census, Totals: x.totals, Counters: x.counters,
		Draining: draining, TickRate: uint32(o.tickRate),
		Sessions: func() metrics.SessionStats {
			st := gw.Stats()
			return metrics.SessionStats{
				Live: st.Sessions, HoldExpired: st.HoldExpired, EventsIn: st.EventsIn, Unknown: st.UnknownEvents,
				RTTSamples: st.RTT.Samples, RTTP50: st.RTT.P50, RTTP99: st.RTT.P99, RTTMax: st.RTT.Max,
			}
		},
	})
	if x.fleet != nil {
		registerFleet(x.reg, x.fleet)
	}
	x.ready = &health.Checker{Draining: draining, Rooms: lob.List, Every: 250 * time.Millisecond}
	token := o.adminToken
	if token == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		token = hex.EncodeToString(b[:])
		log.Info("no -admin-token given: generated one for this run", "admin_token", token)
	}
	x.dash = dashboard.New(dashboard.Config{
		Token: token, Rooms: lob.Rooms, Census: gw.Census, Metrics: x.counters,
		Draining: func() (bool, time.Duration) { return x.drain.Draining(), x.drain.Left() },
		TickRate: uint32(o.tickRate), SnapshotRate: uint32(o.snapshotRate), Logger: log,
	})
}

// handler adds /metrics, /readyz, /dashboard and /play (the browser
// client, open to all like /ws and /poll) to the gateway's routes.
// The operator routes need the admin token on this address: /dashboard
// (a cookie or a Bearer header) and /metrics (a Bearer header, what
// Prometheus' authorization setting sends); the admin address serves
// /metrics without one. /healthz and /readyz stay open for probes, and
// /readyz is evaluated at most every 250 ms.
func (x *ops) handler(gw http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", gw)
	mux.Handle("GET /metrics", x.dash.Guard(metrics.Handler(x.reg)))
	mux.Handle("GET /readyz", x.ready)
	mux.Handle("/dashboard", x.dash)
	mux.Handle("/dashboard/", x.dash)
	mux.Handle("/play", x.play)
	mux.Handle("/play/", x.play)
	return mux
}

// adminAddr puts a bare port (":6060" or "6060") on the loopback
// interface: the admin listener is never public unless a host says so.
func adminAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return net.JoinHostPort("127.0.0.1", a)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// startAdmin serves pprof (and /metrics) on addr.
func (x *ops) startAdmin(addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", adminAddr(addr))
	if err != nil {
		return "", fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /metrics", metrics.Handler(x.reg))
	mux.HandleFunc("POST /announce", x.announce)
	x.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() { _ = x.admin.Serve(ln) }() // ends with Shutdown in stop
	return ln.Addr().String(), nil
}

// drainThenStop runs the graceful drain, then closes everything: the HTTP
// listener and its requests (event streams included), every WebSocket
// (Error{SHUTTING_DOWN} and close code 1001, going away), the rooms and the
// admin listener.
func (x *ops) drainThenStop(o options, log *slog.Logger, srv *http.Server, gw *gateway.Server, lob *lobby.Lobby) {
	if x.fleet != nil {
		_ = x.fleet.Leave(context.Background()) // at once: no server sends players here any more
		defer x.fleet.Close()
	}
	dcfg := drain.Config{Grace: o.drainGrace, Logger: log}
	if x.fleet != nil && o.handoff {
		dcfg.Move = gw.MoveRooms // before the clients left are told
	}
	drain.Run(context.Background(), &x.drain, lob, gw, dcfg)
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x.dash.Close()
	_ = srv.Shutdown(shutCtx)
	_ = gw.Close(shutCtx)
	_ = lob.Close(shutCtx, room.ErrShutdown)
	if x.admin != nil {
		_ = x.admin.Shutdown(shutCtx)
	}
}

// maxAnnounce bounds an announcement's payload.
const maxAnnounce = 4 << 10

// announce serves POST /announce?event=NAME on the admin address: the body
// (at most 4 KiB) goes as a named event (default "announce") to every
// session of the server, and with a fleet to every server's sessions.
func (x *ops) announce(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("event")
	if name == "" {
		name = "announce"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnnounce))
	if err != nil {
		http.Error(w, "body over 4 KiB", http.StatusRequestEntityTooLarge)
		return
	}
	if len(name) > 64 || !utf8.ValidString(name) {
		http.Error(w, "event name must be 1..64 bytes of UTF-8", http.StatusBadRequest)
		return
	}
	n := x.gw.EmitAll(name, body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "queued for %d sessions here (fleet: %t)\n", n, x.fleet != nil)
}

// registerFleet adds the fleet's gauges and counters to reg (-redis only).
func registerFleet(reg *prometheus.Registry, n *fleet.Node) {
	stat := func(f func(fleet.Stats) uint64) func() float64 {
		return func() float64 { return float64(f(n.Stats())) }
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arena_fleet_in_directory",
			Help: "1 while this server is listed in the fleet's directory (Redis reachable, not draining)."},
			func() float64 {
				if n.Stats().InDirectory {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_heartbeats_total",
			Help: "Heartbeats the fleet's directory took."}, stat(func(s fleet.Stats) uint64 { return s.Heartbeats })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_heartbeat_failures_total",
			Help: "Heartbeats that did not reach Redis."}, stat(func(s fleet.Stats) uint64 { return s.Failures })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_broadcasts_total",
			Help: "Fleet-wide events published to the other servers.", ConstLabels: prometheus.Labels{"direction": "out"}},
			stat(func(s fleet.Stats) uint64 { return s.BroadcastsOut })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_broadcasts_total",
			Help: "Fleet-wide events published to the other servers.", ConstLabels: prometheus.Labels{"direction": "in"}},
			stat(func(s fleet.Stats) uint64 { return s.BroadcastsIn })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_broadcasts_dropped_total",
			Help: "Fleet-wide events not published (Redis away, or 256 waiting)."},
			stat(func(s fleet.Stats) uint64 { return s.BroadcastsDropped })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_handoffs_total",
			Help: "Rooms handed to another server on a drain.", ConstLabels: prometheus.Labels{"direction": "out"}},
			stat(func(s fleet.Stats) uint64 { return s.HandedOut })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_handoffs_total",
			Help: "Rooms handed to another server on a drain.", ConstLabels: prometheus.Labels{"direction": "in"}},
			stat(func(s fleet.Stats) uint64 { return s.Adopted })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_handoffs_refused_total",
			Help: "Hand-offs this server refused or could not take."},
			stat(func(s fleet.Stats) uint64 { return s.AdoptFailed })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_checkpoints_total",
			Help: "Room checkpoints stored in Redis."}, stat(func(s fleet.Stats) uint64 { return s.Checkpoints })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_checkpoint_bytes_total",
			Help: "Bytes of room checkpoints stored in Redis."}, stat(func(s fleet.Stats) uint64 { return s.CheckpointBytes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_checkpoint_failures_total",
			Help: "Checkpoint rounds Redis did not take."}, stat(func(s fleet.Stats) uint64 { return s.CheckpointFailed })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "arena_fleet_restored_rooms_total",
			Help: "Rooms restored here from the checkpoints of a server that died."},
			stat(func(s fleet.Stats) uint64 { return s.Restored })),
	)
}

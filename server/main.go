// Command server is the dedicated game server: it hosts match rooms of the
// games in its registry (games.go; -h lists them) over WebSocket and HTTP
// long-polling. Run with -h for its flags; every flag can also be set by an
// environment variable named ARENA_ plus the flag in upper case with - as _
// (for example ARENA_TICK_RATE=30); a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/arenaserver/arena/netcode/pollconn"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/server/fleet"
	"github.com/arenaserver/arena/server/gateway"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/play"
	"github.com/arenaserver/arena/server/room"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal during the drain stops at once
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil))
}

// options are the server's flags.
type options struct {
	games        string
	gameParams   gameParams
	addr         string
	tickRate     uint
	snapshotRate uint
	roomSize     int
	maxRooms     int
	emptyGrace   time.Duration
	maxMessage   int
	delta        bool
	gcPercent    int
	logFormat    string
	logLevel     string
	// Sessions (issues 3 and 5).
	hold             time.Duration
	secret           string
	tokenTTL         time.Duration
	heartbeat        time.Duration
	heartbeatTimeout time.Duration
	// Operations (issue 8).
	drainGrace time.Duration
	adminAddr  string
	adminToken string
	// Fleet (issue 9).
	redis          string
	publicAddr     string
	mode           string
	fleetHeartbeat time.Duration
	fleetTTL       time.Duration
	reservationTTL time.Duration
	// Hand-off on drain (issue 16).
	handoff         bool
	handoffTimeout  time.Duration
	handoffMaxBytes int
	checkpoint      time.Duration
	// Limits at the edge (issue 6).
	readHeaderTimeout time.Duration
	maxHeaderBytes    int
	idleTimeout       time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	helloTimeout      time.Duration
	maxBody           int
	bodyTimeout       time.Duration
	maxConnsPerIP     int
	maxSessions       int
	allowedOrigins    string
	inputRate         float64
	inputBurst        int
	eventRate         float64
	messageRate       float64
	byteRate          float64
	rateSustain       time.Duration
	// Budgets for strangers (issue 13).
	maxSessionsPerIP  int
	maxRoomsPerIP     int
	maxHTTPConnsPerIP int
	connRatePerIP     float64
	lobbyRate         float64
	lobbyRatePerIP    float64
	eventRatePerIP    float64
	maxListedRooms    int
	sendBuffer        int
	requireFleet      bool
	// The browser client (issue 14).
	playDir string
}

// parseFlags reads flags, with ARENA_* environment variables as defaults.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server [flags]\n\nThe dedicated game server. Every flag may also come from the environment:\nARENA_<FLAG> with dashes as underscores (ARENA_TICK_RATE=30). Flags win.\n\n")
		printGames(fs.Output(), games())
		fs.PrintDefaults()
	}
	o.gameParams = gameParams{}
	fs.StringVar(&o.games, "game", "arena", "games this server hosts, comma-separated; the first is the default (see the list above)")
	fs.Var(o.gameParams, "game-param", "a game's setting, GAME.NAME=VALUE (repeatable; see the list above)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port); use :8080 to accept other machines")
	fs.UintVar(&o.tickRate, "tick-rate", 60, "simulation ticks per second (10..240)")
	fs.UintVar(&o.snapshotRate, "snapshot-rate", 30, "snapshots per second to each player (1..tick rate; by default 30, or the tick rate when lower)")
	fs.IntVar(&o.roomSize, "room-size", 0, "player seats per room (1..256); 0: each game's own (the arena 16, the canvas 64)")
	fs.IntVar(&o.maxRooms, "max-rooms", 1000, "most rooms this server hosts at once")
	fs.DurationVar(&o.emptyGrace, "empty-grace", 10*time.Second, "how long an empty room stays open")
	fs.IntVar(&o.maxMessage, "max-message", 4096, "largest client frame in bytes")
	fs.BoolVar(&o.delta, "delta", true, "delta-encode snapshots; -delta=false sends full snapshots (for measurement only)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&o.gcPercent, "gc-percent", 400, "garbage collector target (GOGC): heap growth in percent before a collection; higher trades memory for CPU (a GOGC environment variable wins)")
	fs.DurationVar(&o.hold, "hold", 30*time.Second, "how long a disconnected player's session and seat are held for a resume")
	fs.StringVar(&o.secret, "secret", "", "secret that signs resume tokens (HMAC-SHA256); random when empty, so tokens die with the process")
	fs.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "lifetime of a resume token (a fresh one is pushed at half-life)")
	fs.DurationVar(&o.heartbeat, "heartbeat", time.Second, "interval of server heartbeats on every connection")
	fs.DurationVar(&o.heartbeatTimeout, "heartbeat-timeout", 5*time.Second, "silence after which a connection is cut (its session is held)")
	fs.DurationVar(&o.drainGrace, "drain-grace", 30*time.Second, "on SIGTERM/SIGINT, how long running matches may go on before connections close")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "pprof and /metrics on this address (a bare :port means loopback); off when empty")
	fs.StringVar(&o.adminToken, "admin-token", "", "token for /dashboard; when empty a random one is generated and logged")
	fs.StringVar(&o.redis, "redis", "", "Redis URL (redis://host:port) of the fleet's shared room directory; empty runs this server alone")
	fs.StringVar(&o.publicAddr, "public-addr", "", "fleet: address other servers send players to (host:port or ws://host:port/ws); default the listen address")
	fs.StringVar(&o.mode, "mode", "", "fleet: game mode of this server's rooms; quick join places players on servers of the same mode (default: the default game)")
	fs.DurationVar(&o.fleetHeartbeat, "fleet-heartbeat", time.Second, "fleet: how often this server republishes its rooms in the directory")
	fs.DurationVar(&o.fleetTTL, "fleet-ttl", 3*time.Second, "fleet: how long the directory keeps a server that stopped heartbeating (at least twice -fleet-heartbeat)")
	fs.DurationVar(&o.reservationTTL, "reservation-ttl", 10*time.Second, "fleet: how long a redirected player's seat reservation stays valid")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 5*time.Second, "time allowed to send an HTTP request's headers (slowloris)")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", 8<<10, "largest HTTP request header block in bytes")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 60*time.Second, "how long an idle keep-alive HTTP connection is kept")
	fs.DurationVar(&o.readTimeout, "read-timeout", 10*time.Second, "WebSocket: cut a peer that sent no complete message or pong for this long (pinged at half)")
	fs.DurationVar(&o.writeTimeout, "write-timeout", 2*time.Second, "cut a peer whose socket does not take a write for this long")
	fs.DurationVar(&o.helloTimeout, "hello-timeout", 5*time.Second, "close a connection that has not said Hello this long after its upgrade (or channel open)")
	fs.IntVar(&o.maxBody, "max-body", 16<<10, "largest long-polling POST body in bytes")
	fs.DurationVar(&o.bodyTimeout, "body-timeout", 5*time.Second, "time allowed to send a long-polling POST body")
	fs.IntVar(&o.maxConnsPerIP, "max-conns-per-ip", 64, "open connections per remote address (-1: no limit; behind a proxy every client shares its address)")
	fs.IntVar(&o.maxSessions, "max-sessions", 10000, "live sessions, connected or held")
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed to connect (* for any); no Origin and same-origin are always allowed")
	fs.Float64Var(&o.inputRate, "input-rate", 0, "new inputs per second per session (0: tick rate × 1.25)")
	fs.IntVar(&o.inputBurst, "input-burst", 8, "inputs a session may send at once above the input rate")
	fs.Float64Var(&o.eventRate, "event-rate", 20, "client events per second per session (burst 2×)")
	fs.Float64Var(&o.messageRate, "message-rate", 0, "client frames per second per connection (0: 4 × tick rate; burst 256)")
	fs.Float64Var(&o.byteRate, "byte-rate", 64<<10, "client bytes per second per connection (burst the same)")
	fs.DurationVar(&o.rateSustain, "rate-sustain", time.Second, "window over which every rate is held on average: past a burst is dropped at once, and a connection that attempts more than rate × window + burst within it is closed (RATE_LIMITED)")
	fs.IntVar(&o.maxSessionsPerIP, "max-sessions-per-ip", 64, "live sessions (connected or held) one remote address may hold; a Hello past it gets OVER_BUDGET (-1: no limit)")
	fs.IntVar(&o.maxRoomsPerIP, "max-rooms-per-ip", 4, "open rooms one remote address may have created (CreateRoom, or a quick join that opened one); past it OVER_BUDGET (-1: no limit)")
	fs.IntVar(&o.maxHTTPConnsPerIP, "max-http-conns-per-ip", 256, "TCP connections one remote address may hold on any route; past it a new one is closed before its request is read (-1: no limit)")
	fs.Float64Var(&o.connRatePerIP, "conn-rate-per-ip", 50, "new TCP connections per second one remote address may open, on any route (burst 2×); past it a connection is closed at once (-1: no limit)")
	fs.Float64Var(&o.lobbyRate, "lobby-rate", 5, "lobby requests (list, create, join, leave) per second per session (burst 4×); past it OVER_BUDGET, kept up: RATE_LIMITED")
	fs.Float64Var(&o.lobbyRatePerIP, "lobby-rate-per-ip", 50, "lobby requests per second of all the sessions of one address (burst 4×); past it OVER_BUDGET")
	fs.Float64Var(&o.eventRatePerIP, "event-rate-per-ip", 200, "client events per second of all the sessions of one address (burst 2×); past it RATE_LIMITED (not fatal)")
	fs.IntVar(&o.maxListedRooms, "max-listed-rooms", 100, "most rooms a RoomList carries (those with a free seat and the most players)")
	fs.IntVar(&o.sendBuffer, "send-buffer", 64<<10, "kernel send buffer (SO_SNDBUF) of each connection, so a peer that never reads is cut within -write-timeout (-1: the system's autotuning)")
	fs.BoolVar(&o.handoff, "handoff", true, "with -redis: on a drain, hand each running room (with its sessions) to another server of the fleet, whose clients follow (Hello.follows_moves); false: matches end with the drain as on a lone server")
	fs.DurationVar(&o.handoffTimeout, "handoff-timeout", 2*time.Second, "with -redis: how long one room's hand-off may take (freeze, transfer, the other server's answer); past it the room stays and runs out the drain here")
	fs.IntVar(&o.handoffMaxBytes, "handoff-max-bytes", 8<<20, "with -redis: the largest hand-off bundle (a room's saved match and its sessions' unacknowledged frames) sent or taken; a bigger room stays")
	fs.DurationVar(&o.checkpoint, "checkpoint", time.Second, "with -redis: how often every room is saved to Redis with its sessions, so that when this server dies the fleet restores its rooms elsewhere and its clients resume there (a crash loses at most this much play); 0 turns checkpoints off")
	fs.BoolVar(&o.requireFleet, "require-fleet", false, "with -redis: exit with an error at start when Redis is unreachable, instead of serving alone until it answers")
	fs.StringVar(&o.playDir, "play-dir", "bin/play", "folder with the browser client (client.wasm and wasm_exec.js, written by make build) that /play serves; /play says how to build it when missing")
	var envErr error
	set := map[string]bool{} // flags given, on the command line or in the environment
	fs.VisitAll(func(f *flag.Flag) {
		name := "ARENA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			set[f.Name] = true
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("environment %s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return o, envErr
	}
	fs.SetOutput(io.Discard) // a bad value is one line (below), not the whole usage
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["snapshot-rate"] {
		o.snapshotRate = min(o.snapshotRate, o.tickRate) // the default follows a lower tick rate
	}
	return o, o.validate()
}

// validate checks every flag's range; the error names the flag and the
// value it had, in one line.
func (o options) validate() error {
	positive := func(name string, d time.Duration) error {
		if d <= 0 {
			return fmt.Errorf("-%s must be a positive duration, not %v", name, d)
		}
		return nil
	}
	limit := func(name string, v int) error {
		if v == 0 || v < -1 {
			return fmt.Errorf("-%s must be positive (or -1 for no limit), not %d", name, v)
		}
		return nil
	}
	checks := []func() error{
		func() error {
			if o.tickRate < 10 || o.tickRate > 240 {
				return fmt.Errorf("-tick-rate must be 10..240 ticks per second, not %d", o.tickRate)
			}
			return nil
		},
		func() error {
			if o.snapshotRate < 1 || o.snapshotRate > o.tickRate {
				return fmt.Errorf("-snapshot-rate must be 1..%d (the tick rate) snapshots per second, not %d", o.tickRate, o.snapshotRate)
			}
			return nil
		},
		func() error {
			if o.roomSize < 0 || o.roomSize > 256 {
				return fmt.Errorf("-room-size must be 1..256 seats (0: each game's own), not %d", o.roomSize)
			}
			return nil
		},
		func() error {
			if o.maxRooms < 1 {
				return fmt.Errorf("-max-rooms must be at least 1, not %d", o.maxRooms)
			}
			return nil
		},
		func() error { return positive("empty-grace", o.emptyGrace) },
		func() error {
			if o.maxMessage < 64 || o.maxMessage > 1<<20 {
				return fmt.Errorf("-max-message must be 64..1048576 bytes, not %d", o.maxMessage)
			}
			return nil
		},
		func() error {
			if o.gcPercent < 1 {
				return fmt.Errorf("-gc-percent must be at least 1 (GOGC=off turns the collector off), not %d", o.gcPercent)
			}
			return nil
		},
		func() error {
			if o.logFormat != "text" && o.logFormat != "json" {
				return fmt.Errorf("-log-format must be text or json, not %q", o.logFormat)
			}
			return nil
		},
		func() error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
				return fmt.Errorf("-log-level must be debug, info, warn or error, not %q", o.logLevel)
			}
			return nil
		},
		func() error { return positive("hold", o.hold) },
		func() error { return positive("token-ttl", o.tokenTTL) },
		func() error { return positive("heartbeat", o.heartbeat) },
		func() error {
			if o.heartbeatTimeout <= o.heartbeat {
				return fmt.Errorf("-heartbeat-timeout must be above -heartbeat (%v), not %v", o.heartbeat, o.heartbeatTimeout)
			}
			return nil
		},
		func() error { return positive("drain-grace", o.drainGrace) },
		func() error {
			if err := (play.Config{Dir: o.playDir}).Validate(); err != nil {
				return fmt.Errorf("-play-dir must be a folder (or missing), not the file %q", o.playDir)
			}
			return nil
		},
		func() error {
			if o.redis == "" {
				if o.requireFleet {
					return errors.New("-require-fleet needs -redis")
				}
				return nil
			}
			if err := positive("fleet-heartbeat", o.fleetHeartbeat); err != nil {
				return err
			}
			if err := positive("reservation-ttl", o.reservationTTL); err != nil {
				return err
			}
			if err := positive("handoff-timeout", o.handoffTimeout); err != nil {
				return err
			}
			if o.checkpoint != 0 && (o.checkpoint < 100*time.Millisecond || o.checkpoint > time.Minute) {
				return fmt.Errorf("-checkpoint must be 0 (off) or 100ms..1m, not %v", o.checkpoint)
			}
			if o.handoffMaxBytes < 64<<10 || o.handoffMaxBytes > 256<<20 {
				return fmt.Errorf("-handoff-max-bytes must be 64 KiB..256 MiB, not %d", o.handoffMaxBytes)
			}
			if o.fleetTTL < 2*o.fleetHeartbeat {
				return fmt.Errorf("-fleet-ttl must be at least twice -fleet-heartbeat (%v), not %v", 2*o.fleetHeartbeat, o.fleetTTL)
			}
			return nil
		},
		func() error { return positive("read-header-timeout", o.readHeaderTimeout) },
		func() error { return positive("idle-timeout", o.idleTimeout) },
		func() error { return positive("read-timeout", o.readTimeout) },
		func() error { return positive("write-timeout", o.writeTimeout) },
		func() error { return positive("hello-timeout", o.helloTimeout) },
		func() error { return positive("body-timeout", o.bodyTimeout) },
		func() error { return positive("rate-sustain", o.rateSustain) },
		func() error {
			if o.maxHeaderBytes < 1024 {
				return fmt.Errorf("-max-header-bytes must be at least 1024, not %d", o.maxHeaderBytes)
			}
			return nil
		},
		func() error {
			if o.maxBody < o.maxMessage {
				return fmt.Errorf("-max-body must be at least -max-message (%d), not %d", o.maxMessage, o.maxBody)
			}
			return nil
		},
		func() error {
			if o.maxSessions < 1 {
				return fmt.Errorf("-max-sessions must be at least 1, not %d", o.maxSessions)
			}
			return nil
		},
		func() error { return limit("max-conns-per-ip", o.maxConnsPerIP) },
		func() error { return limit("max-sessions-per-ip", o.maxSessionsPerIP) },
		func() error { return limit("max-rooms-per-ip", o.maxRoomsPerIP) },
		func() error { return limit("max-http-conns-per-ip", o.maxHTTPConnsPerIP) },
		func() error {
			if o.connRatePerIP != -1 && o.connRatePerIP <= 0 {
				return fmt.Errorf("-conn-rate-per-ip must be positive (or -1 for no limit), not %v", o.connRatePerIP)
			}
			return nil
		},
		func() error {
			if o.inputRate < 0 {
				return fmt.Errorf("-input-rate must be positive (or 0 for tick rate × 1.25), not %v", o.inputRate)
			}
			return nil
		},
		func() error {
			if o.inputBurst < 1 {
				return fmt.Errorf("-input-burst must be at least 1, not %d", o.inputBurst)
			}
			return nil
		},
		func() error {
			if o.messageRate < 0 {
				return fmt.Errorf("-message-rate must be positive (or 0 for 4 × tick rate), not %v", o.messageRate)
			}
			return nil
		},
		func() error {
			if o.byteRate < float64(o.maxMessage) {
				return fmt.Errorf("-byte-rate must be at least -max-message (%d) bytes per second, not %v", o.maxMessage, o.byteRate)
			}
			return nil
		},
		func() error {
			for _, r := range []struct {
				name string
				v    float64
			}{{"event-rate", o.eventRate}, {"lobby-rate", o.lobbyRate}, {"lobby-rate-per-ip", o.lobbyRatePerIP}, {"event-rate-per-ip", o.eventRatePerIP}} {
				if r.v <= 0 {
					return fmt.Errorf("-%s must be positive, not %v", r.name, r.v)
				}
			}
			return nil
		},
		func() error {
			if o.maxListedRooms < 1 {
				return fmt.Errorf("-max-listed-rooms must be at least 1, not %d", o.maxListedRooms)
			}
			return nil
		},
		func() error {
			if o.sendBuffer != -1 && o.sendBuffer < 4096 {
				return fmt.Errorf("-send-buffer must be at least 4096 bytes (or -1 for the system's autotuning), not %d", o.sendBuffer)
			}
			return nil
		},
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func newLogger(o options, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

// run starts the server and blocks until ctx ends; it returns the exit code.
// When ready is not nil it receives the listening address once serving.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	if getenv("GOGC") == "" && o.gcPercent > 0 {
		debug.SetGCPercent(o.gcPercent) // a server has memory to spare and CPU to save
	}
	hosted, err := hostedGames(games(), o.games, o.gameParams)
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	if o.mode == "" {
		o.mode = hosted[0].Name
	}
	x := newOps()
	roomCfg := room.Config{
		TickRate: uint32(o.tickRate), SnapshotRate: uint32(o.snapshotRate), Capacity: o.roomSize,
		EmptyGrace: o.emptyGrace, FullSnapshots: !o.delta, Logger: log, Totals: x.totals,
	}
	lob, err := lobby.New(lobby.Config{Room: roomCfg, Games: hosted, Params: o.gameParams, MaxRooms: o.maxRooms, MaxRoomsPerOwner: o.maxRoomsPerIP, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		log.Error("listen failed", "addr", o.addr, "err", err)
		return 1
	}
	var gw *gateway.Server
	var dir gateway.Directory
	var mover gateway.Mover
	var locator gateway.Locator
	if o.redis != "" {
		if x.fleet, err = newFleet(o, ln.Addr().String(), log, lob, func(name string, payload []byte) { gw.EmitLocal(name, payload) },
			func() *gateway.Server { return gw }); err != nil {
			_ = ln.Close()
			fmt.Fprintln(stderr, "server:", err)
			return 2
		}
		dir, locator = x.fleet, x.fleet
		if o.handoff && o.secret != "" {
			mover = x.fleet
		}
		if o.secret == "" && (o.handoff || o.checkpoint > 0) {
			log.Warn("fleet: no -secret: a session's resume token works only on this server, so rooms are not handed to other servers on a drain nor restored elsewhere after a crash; give every server of the fleet the same -secret")
		}
	}
	gw = gateway.New(lob, gateway.Config{
		TickRate: uint32(o.tickRate), SnapshotRate: uint32(o.snapshotRate),
		MaxRoomSize: max(64, o.roomSize), Logger: log,
		WS: wsconn.ServerOptions{MaxMessage: o.maxMessage, ReadTimeout: o.readTimeout, PingInterval: o.readTimeout / 2,
			WriteTimeout: o.writeTimeout, RateSustain: o.rateSustain},
		Poll: pollconn.ServerOptions{MaxBody: o.maxBody, WriteTimeout: o.writeTimeout, BodyTimeout: o.bodyTimeout},
		Limits: gateway.Limits{
			InputRate: o.inputRate, InputBurst: o.inputBurst, EventRate: o.eventRate, EventBurst: int(2 * o.eventRate),
			MessageRate: o.messageRate, ByteRate: o.byteRate, ByteBurst: int(o.byteRate), Sustain: o.rateSustain,
			HelloTimeout: o.helloTimeout, MaxConnsPerIP: o.maxConnsPerIP, MaxSessions: o.maxSessions,
			AllowedOrigins:   splitList(o.allowedOrigins),
			MaxSessionsPerIP: o.maxSessionsPerIP, MaxHTTPConnsPerIP: o.maxHTTPConnsPerIP,
			ConnRatePerIP: o.connRatePerIP, ConnBurstPerIP: int(2 * max(o.connRatePerIP, 1)),
			LobbyRate: o.lobbyRate, LobbyBurst: int(4 * o.lobbyRate), LobbyRatePerIP: o.lobbyRatePerIP, LobbyBurstPerIP: int(4 * o.lobbyRatePerIP),
			EventRatePerIP: o.eventRatePerIP, EventBurstPerIP: int(2 * o.eventRatePerIP), MaxListedRooms: o.maxListedRooms,
		},
		SendBuffer: o.sendBuffer,
		Hold:       o.hold, Secret: []byte(o.secret), TokenTTL: o.tokenTTL,
		Heartbeat: o.heartbeat, HeartbeatTimeout: o.heartbeatTimeout, Metrics: x.counters,
		Fleet: dir, Mover: mover, HandoffTimeout: o.handoffTimeout, HandoffBytes: o.handoffMaxBytes, Locator: locator,
	})
	x.wire(o, log, lob, gw)
	if x.fleet != nil {
		x.fleet.Start(ctx)
		if !x.fleet.Stats().InDirectory {
			if o.requireFleet {
				x.fleet.Close()
				_ = ln.Close()
				_ = lob.Close(context.Background(), room.ErrShutdown)
				fmt.Fprintf(stderr, "server: -require-fleet: Redis at %s is unreachable; not starting alone\n", o.redis)
				return 1
			}
			log.Warn("fleet: Redis is unreachable at start: serving alone (this server's rooms only) until it answers; -require-fleet makes this an error", "redis", o.redis)
		}
	}
	srv := &http.Server{
		Handler:           x.handler(gw.Handler()),
		ConnState:         gw.ConnState, // connections per address on every route; bounded send buffers
		ReadHeaderTimeout: o.readHeaderTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		IdleTimeout:       o.idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if o.adminAddr != "" {
		a, err := x.startAdmin(o.adminAddr, log)
		if err != nil {
			log.Error("listen failed", "err", err)
			return 1
		}
		log.Info("admin listener (pprof, metrics)", "addr", a)
	}
	srv.RegisterOnShutdown(x.dash.Close)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("serving", "addr", addr, "ws", "ws://"+addr+"/ws", "tick_rate", o.tickRate,
		"snapshot_rate", o.snapshotRate, "room_size", o.roomSize)
	log.Info("dashboard", "url", "http://"+addr+"/dashboard", "metrics", "http://"+addr+"/metrics (admin token as a Bearer header, or the admin address)")
	if ready != nil {
		ready <- addr
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("shutting down", "drain_grace", o.drainGrace)
	x.drainThenStop(o, log, srv, gw, lob)
	log.Info("stopped")
	return 0
}

// newFleet prepares this server's membership in a fleet (-redis); the
// caller starts it once the gateway exists.
func newFleet(o options, listen string, log *slog.Logger, lob *lobby.Lobby, deliver func(string, []byte), gw func() *gateway.Server) (*fleet.Node, error) {
	public := o.publicAddr
	if public == "" {
		public = fleet.PublicAddr(listen)
	}
	cfg := fleet.Config{
		Redis: o.redis, Addr: public, Mode: o.mode, RoomSize: fleetRoomSize(o),
		Heartbeat: o.fleetHeartbeat, TTL: o.fleetTTL, ReservationTTL: o.reservationTTL,
		Rooms: lob.List, Deliver: deliver, Logger: log, HandoffBytes: o.handoffMaxBytes,
	}
	if o.secret == "" {
		// Tokens signed with a random secret work nowhere else: neither
		// hand-offs nor checkpoints could be resumed.
		return fleet.New(cfg)
	}
	if o.handoff {
		cfg.Adopt = func(b []byte) error { return gw().Adopt(b) } // this server takes other servers' rooms
	}
	if o.checkpoint > 0 {
		cfg.CheckpointEvery = o.checkpoint
		cfg.Checkpoint = func() map[string][]byte {
			ctx, cancel := context.WithTimeout(context.Background(), o.checkpoint)
			defer cancel()
			return gw().CheckpointBundles(ctx)
		}
		cfg.Restore = func(b []byte) error { return gw().Restore(b) }
	}
	return fleet.New(cfg)
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// fleetRoomSize is the seats of the rooms the fleet places on this server:
// -room-size, or the default game's own.
func fleetRoomSize(o options) int {
	if o.roomSize > 0 {
		return o.roomSize
	}
	if d := games().Lookup(strings.Split(o.games, ",")[0]); d != nil && d.Seats > 0 {
		return d.Seats
	}
	return 16
}

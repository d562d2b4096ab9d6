// Package fleet lets several servers act as one: a room directory shared in
// Redis, with expiring heartbeats, seat reservations for fleet-wide quick
// join and join by id, and fleet-wide broadcasts over Redis pub/sub. Room
// state stays in its process; only the directory is shared.
//
// Redis is the engine (github.com/redis/go-redis/v9): every decision that
// must be atomic across servers (picking a room, counting its free seats,
// spending a reservation) is one Lua script run by Redis. A server that
// loses Redis keeps its matches running and seats players in its own rooms;
// its heartbeat republishes everything when Redis returns.
//
// fleet imports the room package for its types only; it knows nothing of
// the gateway, the lobby or transports: the server's main wires it to them
// with the functions in Config.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/arenaserver/arena/server/room"
)

var (
	// ErrUnavailable means Redis did not answer (or the node has not reached
	// it yet): only this server's own rooms can be used.
	ErrUnavailable = errors.New("fleet: directory unreachable")
	// ErrNotFound means no live server lists the room.
	ErrNotFound = errors.New("fleet: room not found")
	// ErrFull means the room has no seat left, counting reserved ones.
	ErrFull = errors.New("fleet: room full")
	// ErrNoServer means no live server of this mode takes players.
	ErrNoServer = errors.New("fleet: no server takes players")
	// ErrElsewhere means another server hosts the room and the client does
	// not follow redirects.
	ErrElsewhere = errors.New("fleet: room hosted by another server")
	// ErrReservationInvalid means the reservation is unknown, or not for
	// this server and room.
	ErrReservationInvalid = errors.New("fleet: reservation not valid here")
	// ErrReservationUsed means the reservation was already spent.
	ErrReservationUsed = errors.New("fleet: reservation already used")
	// ErrReservationExpired means the reservation's time was up.
	ErrReservationExpired = errors.New("fleet: reservation expired")
)

// Config is a node's settings. Zero fields take defaults (Fill); Redis,
// Addr and Rooms are required.
type Config struct {
	// Redis is the Redis URL (redis://[user:password@]host:port[/db], or
	// rediss:// for TLS).
	Redis string
	// Addr is this server's public WebSocket URL, the address other servers
	// send players to (ws://host:port/ws). A bare host:port is completed to
	// ws://host:port/ws.
	Addr string
	// Mode is the game mode of this server's rooms; quick join only places
	// players on servers of the same mode. Default "arena".
	Mode string
	// RoomSize is the capacity of rooms the fleet opens on this server.
	// Default 16.
	RoomSize int
	// Heartbeat is how often the node republishes itself and its rooms.
	// Default 1 s.
	Heartbeat time.Duration
	// TTL is how long the directory keeps a node and its rooms after its
	// last heartbeat: a node that dies is gone from it within TTL. Default
	// 3 s; at least twice Heartbeat.
	TTL time.Duration
	// ReservationTTL is how long a seat reservation (a redirect) stays
	// valid. Default 10 s.
	ReservationTTL time.Duration
	// OpTimeout bounds one Redis round trip made for a player (placement,
	// redeem, listing, broadcast). Default 1 s.
	OpTimeout time.Duration
	// Prefix starts every Redis key and channel, so fleets can share one
	// Redis. Default "arena:".
	Prefix string
	// Rooms lists this server's open rooms (lobby.List). Called from the
	// heartbeat goroutine and from listings; it must be safe for concurrent
	// use.
	Rooms func() []room.Info
	// Deliver hands a broadcast from another server of the fleet to every
	// session here (gateway.EmitLocal). Called on the node's subscriber
	// goroutine, one at a time. Nil drops them.
	Deliver func(name string, payload []byte)
	// Adopt restores a room another server hands over (a bundle made by
	// that server's gateway; gateway.Server.Adopt). Called on a goroutine
	// of the node, at most 8 at once. Nil: this node takes no hand-offs.
	Adopt func(bundle []byte) error
	// HandoffBytes bounds a hand-off bundle, sent or adopted. Default 8 MiB.
	HandoffBytes int
	// Checkpoint, if not nil, returns this server's rooms saved now (room
	// id to bundle, as for Adopt); the node stores them in Redis every
	// CheckpointEvery, on a goroutine of its own. Nil: no checkpoints.
	Checkpoint func() map[string][]byte
	// CheckpointEvery is how often rooms are checkpointed. Default 1 s.
	CheckpointEvery time.Duration
	// Restore restores a room from a checkpoint of a server whose
	// heartbeat lapsed (gateway.Server.Restore). Called on the heartbeat
	// goroutine, at most 4 per heartbeat. Nil: this node restores none.
	Restore func(bundle []byte) error
	// Logger receives lifecycle logs; nil means slog.Default().
	Logger *slog.Logger
}

// Fill sets defaults for zero fields.
func (c *Config) Fill() {
	if c.Mode == "" {
		c.Mode = "arena"
	}
	if c.RoomSize <= 0 {
		c.RoomSize = 16
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.TTL <= 0 {
		c.TTL = 3 * c.Heartbeat
	}
	if c.ReservationTTL <= 0 {
		c.ReservationTTL = 10 * time.Second
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = time.Second
	}
	if c.Prefix == "" {
		c.Prefix = "arena:"
	}
	if c.HandoffBytes <= 0 {
		c.HandoffBytes = 8 << 20
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Addr = WSURL(c.Addr)
}

// Validate rejects settings that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.Redis == "":
		return errors.New("fleet: no Redis URL")
	case c.Addr == "":
		return errors.New("fleet: no public address")
	case c.Rooms == nil:
		return errors.New("fleet: Config.Rooms is required")
	case c.TTL < 2*c.Heartbeat:
		return fmt.Errorf("fleet: TTL %v must be at least twice the heartbeat %v", c.TTL, c.Heartbeat)
	case strings.ContainsAny(c.Mode+c.Addr, "\n"):
		return errors.New("fleet: mode and address must be one line")
	}
	return nil
}

// WSURL completes a public address: a bare host:port becomes
// ws://host:port/ws; a URL (ws://, wss://) is kept as it is.
func WSURL(addr string) string {
	if addr == "" || strings.Contains(addr, "://") {
		return addr
	}
	return "ws://" + addr + "/ws"
}

// PublicAddr is the default public address for a listener bound to
// listen: the same host and port, with an unspecified host (":8080",
// "0.0.0.0:8080") replaced by the machine's host name.
func PublicAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, err := osHostname(); err == nil && h != "" {
			host = h
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}

// Node is this server's membership in the fleet. Its methods are safe for
// concurrent use. Create it with New, then Start it.
type Node struct {
	cfg Config
	id  string
	rdb *redis.Client
	log *slog.Logger

	healthy atomic.Bool // the last heartbeat reached Redis
	down    atomic.Bool // an outage was logged and has not ended yet
	left    atomic.Bool // drained: out of the directory for good

	pubMu     sync.Mutex      // serializes heartbeats and Leave; guards published
	published map[string]bool // room ids in the directory as of the last heartbeat

	mu      sync.Mutex // guards settled
	settled []string   // room id, reservation pairs whose players the rooms now count

	stop   chan struct{}
	wg     sync.WaitGroup // the heartbeat, publisher and subscriber goroutines
	sub    *redis.PubSub  // set by Start
	outbox chan string    // broadcasts to publish; bounded (outboundBroadcasts), full drops

	heartbeats, failures                           atomic.Uint64
	broadcastsOut, broadcastsIn, broadcastsDropped atomic.Uint64

	adopting                        chan struct{} // hand-offs being adopted; bounded (maxAdopting)
	handedOut, adopted, adoptFailed atomic.Uint64
	peers                           atomic.Pointer[[]string]
	checkpoints, checkpointBytes    atomic.Uint64
	checkpointFailures              atomic.Uint64
	restored, restoreFailed         atomic.Uint64
}

var (
	loggerOnce sync.Once
	osHostname = os.Hostname
)

// New checks cfg and prepares the Redis client; it does no I/O.
func New(cfg Config) (*Node, error) {
	cfg.Fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("fleet: Redis URL: %w", err)
	}
	n := &Node{cfg: cfg, id: "n" + randomHex(6), log: cfg.Logger, published: map[string]bool{}, stop: make(chan struct{}),
		outbox: make(chan string, outboundBroadcasts), adopting: make(chan struct{}, maxAdopting)}
	opt.ClientName = "arena-" + n.id
	opt.DialTimeout = cfg.OpTimeout
	opt.ReadTimeout = cfg.OpTimeout
	opt.WriteTimeout = cfg.OpTimeout
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = 1 // a pooled connection that died with a Redis restart is retried once on a new one
	opt.DialerRetries = 1
	opt.PoolSize = 8
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	n.rdb = redis.NewClient(opt)
	loggerOnce.Do(func() { redis.SetLogger(redisLogger{}) })
	n.log = cfg.Logger.With("node", n.id)
	return n, nil
}

// ID is the node's id in the directory (random per process).
func (n *Node) ID() string { return n.id }

// Addr is the node's public WebSocket URL.
func (n *Node) Addr() string { return n.cfg.Addr }

// Start publishes the node once (a failure is logged, not returned: the
// server runs alone until Redis answers) and starts the heartbeat and the
// broadcast subscriber. Close stops them.
func (n *Node) Start(ctx context.Context) {
	n.beat(ctx)
	n.log.Info("fleet: node started", "redis", n.rdb.Options().Addr, "addr", n.cfg.Addr, "mode", n.cfg.Mode,
		"heartbeat", n.cfg.Heartbeat, "ttl", n.cfg.TTL, "in_directory", n.healthy.Load())
	n.sub = n.rdb.Subscribe(context.Background(), n.channel(), n.nodeChannel(n.id))
	n.wg.Go(n.heartbeatLoop)
	if n.cfg.Checkpoint != nil {
		n.wg.Go(n.checkpointLoop)
	}
	n.wg.Go(n.publishLoop)
	n.wg.Go(n.receive)
}

// heartbeatLoop republishes the node every Heartbeat until Close.
func (n *Node) heartbeatLoop() {
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			// Half the TTL: a slow Redis (or a loaded machine) may take longer
			// than a beat, and the node is still listed meanwhile.
			ctx, cancel := context.WithTimeout(context.Background(), max(n.cfg.TTL/2, n.cfg.OpTimeout))
			n.beat(ctx)
			if n.healthy.Load() {
				n.refreshPeers(ctx)
				n.claim(ctx)
			}
			cancel()
		}
	}
}

// beat publishes once and logs when Redis goes away or comes back.
func (n *Node) beat(ctx context.Context) {
	if err := n.publish(ctx); err != nil {
		n.failures.Add(1)
		n.healthy.Store(false)
		if !n.down.Swap(true) {
			n.log.Warn("fleet: Redis unreachable; serving this server's rooms alone until it returns", "err", err)
		}
		return
	}
	n.heartbeats.Add(1)
	n.healthy.Store(true)
	if n.down.Swap(false) {
		n.log.Info("fleet: Redis reachable; node and rooms (re)published")
	}
}

// publish runs one heartbeat: this node and its rooms, with expiry.
func (n *Node) publish(ctx context.Context) error {
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	if n.left.Load() {
		// Out of the directory, still alive (its rooms' checkpoints are
		// not for others to restore while it drains).
		return n.rdb.Set(ctx, n.cfg.Prefix+"alive:"+n.id, "1", n.cfg.TTL).Err()
	}
	// Take the settled reservations before listing the rooms: a player
	// seated before this point is counted by the listing.
	n.mu.Lock()
	settled := n.settled
	n.settled = nil
	n.mu.Unlock()
	rooms := n.cfg.Rooms()
	args := make([]any, 0, 8+3*len(rooms)+len(n.published)+len(settled))
	args = append(args, n.cfg.Prefix, n.id, n.cfg.Addr, n.cfg.Mode, n.cfg.RoomSize, n.cfg.TTL.Milliseconds(), len(rooms))
	now := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		now[r.ID] = true
		args = append(args, r.ID, r.Capacity, r.Players)
	}
	var gone []any
	for id := range n.published {
		if !now[id] {
			gone = append(gone, id)
		}
	}
	args = append(args, len(gone))
	args = append(args, gone...)
	args = append(args, len(settled)/2)
	for _, s := range settled {
		args = append(args, s)
	}
	if err := scriptPublish.Run(ctx, n.rdb, nil, args...).Err(); err != nil {
		n.mu.Lock()
		n.settled = append(settled, n.settled...)
		n.mu.Unlock()
		return err
	}
	n.published = now
	return nil
}

// Leave takes the node out of the directory at once and for good: no
// server sends players here any more, and this node places joins on other
// servers only. Running rooms go on. For a drain.
func (n *Node) Leave(ctx context.Context) error {
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	if n.left.Swap(true) {
		return nil
	}
	args := []any{n.cfg.Prefix, n.id}
	for id := range n.published {
		args = append(args, id)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
	defer cancel()
	err := scriptLeave.Run(ctx, n.rdb, nil, args...).Err()
	if err != nil {
		n.log.Warn("fleet: could not leave the directory; it expires the node within its TTL", "ttl", n.cfg.TTL, "err", err)
	} else {
		n.log.Info("fleet: left the directory", "rooms", len(n.published))
	}
	return err
}

// Close leaves the directory (if Leave was not called), stops the
// heartbeat and the subscriber and closes the Redis client.
func (n *Node) Close() {
	select {
	case <-n.stop:
		return
	default:
	}
	_ = n.Leave(context.Background())
	close(n.stop)
	if n.sub != nil {
		_ = n.sub.Close()
	}
	n.wg.Wait()
	if n.cfg.Checkpoint != nil {
		n.checkpoint(nil) // a server that stops on purpose leaves nothing to restore
	}
	_ = n.rdb.Close()
}

// Stats are the node's counters.
type Stats struct {
	Heartbeats        uint64 // heartbeats Redis took
	Failures          uint64 // heartbeats that failed (Redis unreachable)
	InDirectory       bool   // the last heartbeat worked and the node has not left
	BroadcastsOut     uint64 // broadcasts published
	BroadcastsIn      uint64 // broadcasts from other servers delivered here
	BroadcastsDropped uint64 // broadcasts not published (Redis away, or the queue full)
	HandedOut         uint64 // rooms another node adopted from this one
	Adopted           uint64 // rooms this node adopted from others
	AdoptFailed       uint64 // hand-offs this node refused or could not take
	Checkpoints       uint64 // room checkpoints stored
	CheckpointBytes   uint64 // their bytes
	CheckpointFailed  uint64 // checkpoint rounds Redis did not take
	Restored          uint64 // rooms restored here from a dead node's checkpoints
	RestoreFailed     uint64 // of which could not be restored
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{
		Heartbeats: n.heartbeats.Load(), Failures: n.failures.Load(),
		InDirectory:   n.healthy.Load() && !n.left.Load(),
		BroadcastsOut: n.broadcastsOut.Load(), BroadcastsIn: n.broadcastsIn.Load(), BroadcastsDropped: n.broadcastsDropped.Load(),
		HandedOut: n.handedOut.Load(), Adopted: n.adopted.Load(), AdoptFailed: n.adoptFailed.Load(),
		Checkpoints: n.checkpoints.Load(), CheckpointBytes: n.checkpointBytes.Load(), CheckpointFailed: n.checkpointFailures.Load(),
		Restored: n.restored.Load(), RestoreFailed: n.restoreFailed.Load(),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redisLogger sends go-redis's own log lines (reconnections) to slog at
// debug level: the node logs outages itself, once each.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

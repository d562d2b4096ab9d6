// Package core is the desktop client's game-view core, with no window: the
// connection and its lobby requests, the received snapshots, prediction and
// reconciliation of the own player, interpolation of everything else, the
// kill feed, the scoreboard and the net graph's figures, all exposed as a
// read-only View that a renderer draws.
//
// Threading: the protocol client's read goroutine and the session's own
// helper goroutines (lobby requests, pings) only put events into a bounded,
// mutex-guarded inbox. Everything else belongs to the one goroutine that
// calls Update and View (the game loop), so the renderer needs no locks.
//
// core imports netcode, sim and proto; never Ebiten (it is tested without a
// display), the server or the bots.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/linkcond"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// Config configures a Session. Zero fields take defaults.
type Config struct {
	// URL is the server's WebSocket endpoint. Default ws://127.0.0.1:8080/ws.
	URL string
	// Name is the player's display name (1..24 bytes). Default "player".
	Name string
	// Transport is "auto" (WebSocket, falling back to long-polling), "ws"
	// or "poll". Default "auto".
	Transport string
	// Link conditions the connection on this side (latency, jitter,
	// bandwidth), whichever the transport; the zero value leaves it alone.
	Link linkcond.Config
	// InterpDelay fixes how far in the past other entities are drawn. Zero
	// (the default) adapts it to the measured jitter.
	InterpDelay time.Duration
	// PingInterval is how often the round-trip time is measured. Default 1 s.
	PingInterval time.Duration
	// Logger receives connection lifecycle logs; nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) fill() {
	if c.URL == "" {
		c.URL = "ws://127.0.0.1:8080/ws"
	}
	if c.Name == "" {
		c.Name = "player"
	}
	if c.PingInterval <= 0 {
		c.PingInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Phase is where the session is.
type Phase int

const (
	PhaseLobby      Phase = iota // not in a room (maybe not connected)
	PhaseJoining                 // a join is in flight
	PhasePlaying                 // seated in a room
	PhaseSpectating              // watching a room
)

func (p Phase) String() string {
	return [...]string{"lobby", "joining", "playing", "spectating"}[p]
}

// inboxLimit bounds the events waiting for the game loop. Past it the oldest
// snapshot is dropped (and counted): a game loop that stalled wants the
// newest state, not a backlog.
const inboxLimit = 256

// event is something a network-side goroutine hands to the game loop.
type event struct {
	kind     eventKind
	at       time.Time
	snap     *snapEvent
	roster   []*sessionpb.PlayerInfo
	joined   *sessionpb.Joined
	spectate bool
	rooms    []*sessionpb.RoomInfo
	err      error
	msg      string
	rtt      time.Duration
	conn     *client.Conn
}

type eventKind int

const (
	evSnapshot eventKind = iota + 1
	evRoster
	evJoined
	evLeft
	evRooms
	evStatus
	evClosed
	evPing
	evConnected
)

type snapEvent struct {
	joined *sessionpb.Joined // the membership the snapshot belongs to
	tick   uint32
	ack    uint32
	state  sim.State
}

// Session is one player's connection and game view. Create it with New;
// Update and View belong to the game loop's goroutine; the lobby actions
// (QuickJoin, JoinRoom, CreateAndJoin, ListRooms, Leave) and SetName may
// be called from it too: they never block. Close ends everything.
type Session struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // action, ping and dial goroutines

	mu      sync.Mutex // guards inbox and dropped
	inbox   []event
	dropped uint64

	dialMu   sync.Mutex                  // one dial at a time; guards connName
	connName string                      // the name the live connection said Hello with
	conn     atomic.Pointer[client.Conn] // the live connection, if any
	busy     atomic.Bool                 // a lobby action is in flight

	// Owned by the game loop.
	name       string
	phase      Phase
	status     string
	rooms      []RoomInfo
	joined     *sessionpb.Joined
	spectate   bool
	simCfg     sim.Config
	self       sim.PlayerID
	names      map[sim.PlayerID]string
	tl         *timeline
	pred       *predictor
	newest     sim.State // newest snapshot's state
	haveNewest bool
	killFeed   []Kill
	net        NetStats
	epoch      time.Time
	inputStart time.Time
	inputsSent int64
	lastSend   sim.Input
	view       View
	curConn    *client.Conn
}

// New returns a session that is not connected yet; the first lobby action
// connects.
func New(cfg Config) *Session {
	cfg.fill()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, name: cfg.Name,
		names: map[sim.PlayerID]string{}, epoch: time.Now()}
	s.net.Transport = "none"
	if cfg.Link.Active() {
		s.net.Link = fmt.Sprintf("lag %v jitter ±%v", cfg.Link.Latency, cfg.Link.Jitter)
		if cfg.Link.Bandwidth > 0 {
			s.net.Link += fmt.Sprintf(" bw %d B/s", cfg.Link.Bandwidth)
		}
	}
	return s
}

// Close ends the connection and waits for the session's goroutines.
func (s *Session) Close() {
	s.cancel()
	if c := s.conn.Load(); c != nil {
		_ = c.Close()
	}
	s.wg.Wait()
}

// Name is the name the next connection will use.
func (s *Session) Name() string { return s.name }

// SetName changes the player name; it takes effect at the next join (a
// connection made with another name is replaced).
func (s *Session) SetName(name string) {
	if name == "" {
		name = "player"
	}
	s.name = name
}

// post hands an event to the game loop; safe from any goroutine.
func (s *Session) post(e event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inbox) >= inboxLimit {
		if i := slices.IndexFunc(s.inbox, func(e event) bool { return e.kind == evSnapshot }); i >= 0 {
			s.inbox = slices.Delete(s.inbox, i, i+1)
			s.dropped++
		} else {
			s.inbox = s.inbox[1:]
			s.dropped++
		}
	}
	s.inbox = append(s.inbox, e)
}

// connect returns the live connection, dialling (with name) if there is
// none or it was made with another name. It runs on helper goroutines.
func (s *Session) connect(ctx context.Context, name string) (*client.Conn, error) {
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	if c := s.conn.Load(); c != nil {
		select {
		case <-c.Done():
		default:
			if s.connName == name {
				return c, nil
			}
			_ = c.Close()
		}
	}
	dial := wsconn.DialOptions{}
	poll := client.PollOptions{}
	if s.cfg.Link.Active() {
		d := linkcond.Dialer(s.cfg.Link, nil)
		dial.DialContext, poll.DialContext = d, d
	}
	var cp atomic.Pointer[client.Conn]
	c, err := client.Dial(ctx, client.Config{
		URL: s.cfg.URL, Name: name, Dial: dial, Poll: poll, Transport: s.cfg.Transport,
		OnSnapshot: func(sn *client.Snapshot) {
			c := cp.Load()
			if c == nil {
				return
			}
			e := &snapEvent{joined: c.Joined(), tick: sn.Tick, ack: sn.InputAck}
			e.state.CopyFrom(sn.State)
			s.post(event{kind: evSnapshot, at: time.Now(), snap: e, conn: c})
		},
		OnRoster: func(r *sessionpb.Roster) {
			s.post(event{kind: evRoster, roster: r.GetPlayers(), conn: cp.Load()})
		},
		OnError: func(e *netcode.Error) {
			if e.Code == sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED {
				s.post(event{kind: evLeft, msg: "room closed: " + e.Message, conn: cp.Load()})
				return
			}
			s.post(event{kind: evStatus, msg: "server: " + e.Message, conn: cp.Load()})
		},
		OnClose: func(err error) {
			s.post(event{kind: evClosed, err: err, conn: cp.Load()})
		},
		OnDisconnect: func(err error) {
			s.post(event{kind: evStatus, msg: fmt.Sprintf("connection lost (%v); reconnecting…", err), conn: cp.Load()})
		},
		OnResume: func(r client.Resume) {
			s.post(event{kind: evStatus, msg: fmt.Sprintf("resumed over %s after %v", r.Transport, r.Down.Round(time.Millisecond)), conn: cp.Load()})
		},
	})
	if err != nil {
		return nil, err
	}
	cp.Store(c)
	s.conn.Store(c)
	s.connName = name
	if s.ctx.Err() != nil { // closed while dialling
		_ = c.Close()
		return nil, s.ctx.Err()
	}
	s.post(event{kind: evConnected, conn: c, msg: c.Welcome().GetServer()})
	s.wg.Go(func() { s.pingLoop(c) })
	return c, nil
}

// pingLoop measures the round trip every PingInterval until the
// connection or the session ends.
func (s *Session) pingLoop(c *client.Conn) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-c.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		rtt, err := c.Ping(ctx)
		cancel()
		if err == nil {
			s.post(event{kind: evPing, rtt: rtt, conn: c})
		}
	}
}

// action runs f on a helper goroutine with a connection, unless another
// action is in flight; its error becomes the status line.
func (s *Session) action(what string, f func(ctx context.Context, c *client.Conn) error) bool {
	if !s.busy.CompareAndSwap(false, true) {
		return false
	}
	s.status = what + "…"
	name := s.name
	s.wg.Go(func() {
		defer s.busy.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		c, err := s.connect(ctx, name)
		if err == nil {
			err = f(ctx, c)
		}
		if err != nil && s.ctx.Err() == nil {
			s.post(event{kind: evStatus, err: err, msg: fmt.Sprintf("%s: %v", what, err)})
		}
	})
	return true
}

// Busy reports whether a lobby action is in flight.
func (s *Session) Busy() bool { return s.busy.Load() }

// ListRooms refreshes the room list (View.Rooms).
func (s *Session) ListRooms() bool {
	return s.action("listing rooms", func(ctx context.Context, c *client.Conn) error {
		rooms, err := c.ListRooms(ctx)
		if err != nil {
			return err
		}
		s.post(event{kind: evRooms, rooms: rooms})
		return nil
	})
}

// QuickJoin takes a seat in the fullest open room (or a new one); with
// spectate it watches instead.
func (s *Session) QuickJoin(spectate bool) bool { return s.JoinRoom("", spectate) }

// JoinRoom takes a seat in (or watches) the room with id.
func (s *Session) JoinRoom(id string, spectate bool) bool {
	if s.phase == PhasePlaying || s.phase == PhaseSpectating {
		return false
	}
	what := "joining"
	if spectate {
		what = "spectating"
	}
	return s.action(what, func(ctx context.Context, c *client.Conn) error {
		s.post(event{kind: evStatus, msg: what + "…", conn: c})
		j, err := c.Join(ctx, id, spectate)
		if err != nil {
			return err
		}
		s.post(event{kind: evJoined, joined: j, spectate: spectate, conn: c})
		return nil
	})
}

// CreateAndJoin opens a room with capacity seats (0: the server's default)
// and takes a seat in it.
func (s *Session) CreateAndJoin(capacity uint32) bool {
	if s.phase == PhasePlaying || s.phase == PhaseSpectating {
		return false
	}
	return s.action("creating a room", func(ctx context.Context, c *client.Conn) error {
		info, err := c.CreateRoom(ctx, capacity)
		if err != nil {
			return err
		}
		j, err := c.Join(ctx, info.GetId(), false)
		if err != nil {
			return err
		}
		s.post(event{kind: evJoined, joined: j, conn: c})
		return nil
	})
}

// Leave gives up the seat and goes back to the lobby.
func (s *Session) Leave() bool {
	if s.phase != PhasePlaying && s.phase != PhaseSpectating {
		return false
	}
	s.enterLobby("left the room")
	return s.action("leaving", func(ctx context.Context, c *client.Conn) error {
		err := c.Leave(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}

// Update runs one frame of the game loop at time now with the player's
// current input: it takes what the network delivered, sends one input per
// server tick due (predicting the own player at once), advances the
// interpolation clock and rebuilds the View.
func (s *Session) Update(now time.Time, in sim.Input) {
	s.drain()
	if s.phase == PhasePlaying {
		s.sendInputs(now, in)
	}
	t := now.Sub(s.epoch).Seconds()
	if s.tl != nil {
		prev := s.tl.lastAt
		s.tl.advance(t)
		if s.pred != nil && prev > 0 {
			s.pred.decay(t - prev)
		}
	}
	s.refreshStats(now)
	s.buildView(now)
}

// drain applies every waiting event, in order.
func (s *Session) drain() {
	s.mu.Lock()
	evs := s.inbox
	s.inbox = nil
	s.mu.Unlock()
	for i := range evs {
		s.handle(&evs[i])
	}
}

func (s *Session) handle(e *event) {
	if e.conn != nil && e.kind != evConnected && s.curConn != nil && e.conn != s.curConn {
		return // from a connection this session replaced
	}
	switch e.kind {
	case evConnected:
		s.curConn = e.conn
		s.log.Info("connected", "url", s.cfg.URL, "server", e.msg)
	case evStatus:
		s.status = e.msg
	case evRooms:
		s.rooms = s.rooms[:0]
		for _, r := range e.rooms {
			s.rooms = append(s.rooms, RoomInfo{ID: r.GetId(), Players: int(r.GetPlayers()), Capacity: int(r.GetCapacity())})
		}
		s.status = fmt.Sprintf("%d rooms", len(s.rooms))
	case evJoined:
		s.startMembership(e.joined, e.spectate)
	case evLeft:
		s.enterLobby(e.msg)
	case evClosed:
		if s.curConn == e.conn || e.conn == nil {
			s.enterLobby(fmt.Sprintf("disconnected: %v", e.err))
			s.curConn = nil
		}
	case evRoster:
		clear(s.names)
		for _, p := range e.roster {
			s.names[sim.PlayerID(p.GetId())] = p.GetName()
		}
	case evPing:
		s.net.RTT = e.rtt
	case evSnapshot:
		s.snapshot(e)
	}
}

func (s *Session) enterLobby(status string) {
	s.phase = PhaseLobby
	s.status = status
	s.joined = nil
	s.self = 0
	s.pred = nil
	s.tl = nil
	s.haveNewest = false
	s.killFeed = s.killFeed[:0]
}

func (s *Session) startMembership(j *sessionpb.Joined, spectate bool) {
	s.joined = j
	s.spectate = spectate
	s.simCfg = netcode.SimConfig(j.GetArena())
	s.self = sim.PlayerID(j.GetPlayerId())
	snapRate := 30.0
	if c := s.curConn; c != nil {
		snapRate = float64(c.Welcome().GetSnapshotRate())
	}
	s.tl = newTimeline(float64(s.simCfg.Rules.TickRate), snapRate, s.cfg.InterpDelay.Seconds())
	s.pred = newPredictor(&s.simCfg, s.self)
	s.haveNewest = false
	s.killFeed = s.killFeed[:0]
	s.inputStart, s.inputsSent = time.Time{}, 0
	s.net.membershipStart = time.Now()
	s.net.correctionsAtStart = s.net.Corrections
	if spectate || s.self == 0 {
		s.phase = PhaseSpectating
		s.status = "watching room " + j.GetRoom().GetId()
	} else {
		s.phase = PhasePlaying
		s.status = "playing in room " + j.GetRoom().GetId()
	}
}

// snapshot takes one received state into the timeline, the predictor and
// the kill feed.
func (s *Session) snapshot(e *event) {
	sn := e.snap
	if s.joined == nil || sn.joined != s.joined {
		return // crossed a join or a leave
	}
	st := &sn.state
	if s.haveNewest {
		s.kills(st, e.at)
	}
	s.newest.CopyFrom(st)
	s.haveNewest = true
	s.net.snaps++
	s.tl.add(st, e.at.Sub(s.epoch).Seconds())
	if s.phase == PhasePlaying {
		if s.pred.snapshot(sn.tick, sn.ack, st.Player(s.self)) {
			s.net.Corrections++
		}
	} else if c := s.curConn; c != nil {
		_ = c.Ack() // a spectator acknowledges snapshots without inputs
	}
}

// kills compares a new state with the previous newest and records deaths.
func (s *Session) kills(st *sim.State, at time.Time) {
	for i := range st.Players {
		p := &st.Players[i]
		old := s.newest.Player(p.ID)
		if old == nil || p.Deaths <= old.Deaths {
			continue
		}
		s.killFeed = append(s.killFeed, Kill{Killer: p.KilledBy, Victim: p.ID, At: at,
			KillerName: s.nameOf(p.KilledBy), VictimName: s.nameOf(p.ID)})
	}
	if n := len(s.killFeed); n > maxKillFeed {
		s.killFeed = slices.Delete(s.killFeed, 0, n-maxKillFeed)
	}
}

const maxKillFeed = 6

func (s *Session) nameOf(id sim.PlayerID) string {
	if n, ok := s.names[id]; ok {
		return n
	}
	if id == 0 {
		return "?"
	}
	return fmt.Sprintf("#%d", id)
}

// maxCatchUpInputs bounds the inputs one frame sends after a stall; past it
// the input clock restarts instead of bursting.
const maxCatchUpInputs = 4

// sendInputs sends one input per server tick on the client's clock, each
// carrying the view tick (what the player saw of the others), and predicts.
func (s *Session) sendInputs(now time.Time, in sim.Input) {
	c := s.curConn
	if c == nil || !s.haveNewest {
		return
	}
	rate := float64(s.simCfg.Rules.TickRate)
	if s.inputStart.IsZero() {
		s.inputStart = now
	}
	due := int64(now.Sub(s.inputStart).Seconds()*rate) + 1 - s.inputsSent
	if due > maxCatchUpInputs {
		s.inputStart = now
		s.inputsSent = 0
		due = 1
	}
	for ; due > 0; due-- {
		in.ViewTick = s.viewTick()
		seq, err := c.SendInput(in)
		if err != nil {
			return // the close event follows
		}
		s.pred.sent(seq, in)
		s.inputsSent++
	}
	s.lastSend = in
}

// viewTick is the server tick at which others are being drawn, for lag
// compensation; 0 when nothing is drawn yet.
func (s *Session) viewTick() uint32 {
	if s.tl == nil || s.tl.n == 0 {
		return 0
	}
	return uint32(math.Round(max(s.tl.render, 0)))
}

func (s *Session) refreshStats(now time.Time) {
	if s.tl != nil {
		rate := s.tl.rate
		s.net.InterpDelay = time.Duration(s.tl.delay / rate * float64(time.Second))
		s.net.BufferDepth = time.Duration(s.tl.depth() / rate * float64(time.Second))
		s.net.Jitter = time.Duration(s.tl.jitter * float64(time.Second))
		s.net.DryFrames, s.net.InterpFrames = s.tl.dry, s.tl.frames
		ahead := 0
		for i := range s.tl.n {
			if float64(s.tl.at(i).state.Tick) > s.tl.render {
				ahead++
			}
		}
		s.net.BufferStates = ahead
	}
	if s.pred != nil {
		s.net.PredictionChecks = s.pred.checks
		s.net.PendingInputs = int(s.pred.pending())
	}
	var in, out uint64
	if c := s.curConn; c != nil {
		st := c.Stats()
		in, out = st.BytesIn, st.BytesOut
		s.net.Transport = c.Transport()
		if s.net.Transport == "" {
			s.net.Transport = "reconnecting"
		}
	}
	s.net.sample(now, in, out)
}

// Dropped is how many events the inbox dropped because the game loop did
// not keep up.
func (s *Session) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

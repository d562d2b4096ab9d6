// Package core is the desktop client's game-view core, with no window and
// no game of its own: the connection and its lobby requests, the received
// snapshots (game.Tables in the schema the room sent), prediction and
// reconciliation of the own player with the game's Client, interpolation
// of the fields the game marks, and the net graph's figures, all exposed
// as a read-only View whose game.Scene a game's renderer draws (or a bot's
// brain reads).
//
// Which games it can play comes from a game.Registry that the program's
// main builds: the Def of a room's game gives its Client (from
// Joined.describe) and says whether inputs go every tick. A room whose game
// the registry lacks, or whose schema is not the Def's, is refused.
//
// Threading: the protocol client's read goroutine and the session's own
// helper goroutines (lobby requests, pings) only put events into a bounded,
// mutex-guarded inbox. Everything else belongs to the one goroutine that
// calls Update and View (the game loop), so the renderer needs no locks.
//
// core imports the game API, netcode and proto; never Ebiten (it is tested
// without a display), a game (games/...), the server or the bots
// (deps_test.go).
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/game"
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
	// Games are the games this client can play: a room of another game is
	// refused. Nil refuses every room.
	Games *game.Registry
	// Game is the game quick join and create use (a name in Games).
	// Default: the first of Games, or the server's default without Games.
	Game string
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
	if c.Game == "" && c.Games != nil && len(c.Games.Defs()) > 0 {
		c.Game = c.Games.Defs()[0].Name
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
	state  *game.Table // from the session's free list; back there once handled
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

	mu      sync.Mutex // guards inbox, dropped and free
	inbox   []event
	dropped uint64
	free    []*game.Table // snapshot tables to reuse

	dialMu   sync.Mutex                  // one dial at a time; guards connName
	connName string                      // the name the live connection said Hello with
	conn     atomic.Pointer[client.Conn] // the live connection, if any
	busy     atomic.Bool                 // a lobby action is in flight

	// Owned by the game loop.
	name        string
	phase       Phase
	status      string
	rooms       []RoomInfo
	joined      *sessionpb.Joined
	spectate    bool
	def         *game.Def   // the room's game
	client      game.Client // its rules, built from Joined.describe; nil when it has none
	self        game.PlayerID
	names       map[game.PlayerID]string
	tickRate    float64 // the server's ticks per second
	tl          *timeline
	interp      *interpolator
	pred        *predictor // nil for a spectator or a game without a Client
	newest      game.Table // newest snapshot's state
	haveNewest  bool
	shown       game.Table // Scene.Shown
	scene       game.Scene
	memberships uint64
	net         NetStats
	epoch       time.Time
	inputStart  time.Time
	inputsSent  int64
	noInput     bool // the last move had no input: snapshots are acknowledged without one
	view        View
	curConn     *client.Conn
}

// New returns a session that is not connected yet; the first lobby action
// connects.
func New(cfg Config) *Session {
	cfg.fill()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, name: cfg.Name,
		names: map[game.PlayerID]string{}, epoch: time.Now()}
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

// Game is the game quick join and create play (Config.Game).
func (s *Session) Game() string { return s.cfg.Game }

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

// table returns a snapshot table to fill; safe from any goroutine.
func (s *Session) table() *game.Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		t := s.free[n-1]
		s.free = s.free[:n-1]
		return t
	}
	return &game.Table{}
}

// maxFree bounds the snapshot tables kept for reuse.
const maxFree = 8

// recycle takes back the tables of handled snapshot events.
func (s *Session) recycle(evs []event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range evs {
		if e := &evs[i]; e.snap != nil && len(s.free) < maxFree {
			s.free = append(s.free, e.snap.state)
			e.snap.state = nil
		}
	}
}

// connect returns the live connection, dialling (with name) if there is
// none or it was made with another name. It runs on helper goroutines.
func (s *Session) connect(ctx context.Context, name string) (*client.Conn, error) {
	return s.dial(ctx, name, nil)
}

// dial is connect, or with saved a resume of the session it describes on a
// new connection (replacing any live one).
func (s *Session) dial(ctx context.Context, name string, saved *client.Saved) (*client.Conn, error) {
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	if c := s.conn.Load(); c != nil && saved != nil {
		_ = c.Close()
	} else if c != nil {
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
		URL: s.cfg.URL, Name: name, Game: s.cfg.Game, Dial: dial, Poll: poll, Transport: s.cfg.Transport, Resume: saved,
		OnSnapshot: func(sn *client.Snapshot) {
			c := cp.Load()
			if c == nil || sn.State == nil {
				return
			}
			e := &snapEvent{joined: c.Joined(), tick: sn.Tick, ack: sn.InputAck, state: s.table()}
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
			msg := fmt.Sprintf("resumed over %s after %v", r.Transport, r.Down.Round(time.Millisecond))
			if r.Down == 0 {
				msg = "moved to " + r.Transport // an upgrade from polling
			}
			s.post(event{kind: evStatus, msg: msg, conn: cp.Load()})
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

// Save returns what resumes this session from another Session (a browser
// page after a reload: Resume), and false when there is no live
// connection. The token in it is spent by the next resume, so save again
// after one.
func (s *Session) Save() (client.Saved, bool) {
	c := s.conn.Load()
	if c == nil {
		return client.Saved{}, false
	}
	select {
	case <-c.Done():
		return client.Saved{}, false
	default:
	}
	return c.Save(), true
}

// Resume resumes the session saved (by Save, in another Session) on a new
// connection: the player is back in its room, with its seat and its
// entity. When the server refuses (the session expired, the token was
// spent) the status line says so and the session stays in the lobby.
func (s *Session) Resume(saved client.Saved) bool {
	if s.phase == PhasePlaying || s.phase == PhaseSpectating || !s.busy.CompareAndSwap(false, true) {
		return false
	}
	s.status = "resuming…"
	name := s.name
	s.wg.Go(func() {
		defer s.busy.Store(false)
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		c, err := s.dial(ctx, name, &saved)
		if err != nil {
			if s.ctx.Err() == nil {
				s.post(event{kind: evStatus, msg: fmt.Sprintf("resuming: %v", err)})
			}
			return
		}
		if j := c.Joined(); j != nil {
			s.post(event{kind: evJoined, joined: j, spectate: j.GetPlayerId() == 0, conn: c})
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
// move (nil: none): it takes what the network delivered, sends the move
// (see sendMove; a spectator sends nothing), advances the interpolation
// clock and rebuilds the View. m's bytes are copied; the caller may reuse
// them.
func (s *Session) Update(now time.Time, m *game.Move) {
	s.drain()
	if s.phase == PhasePlaying && m != nil {
		s.sendMove(now, m)
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
	s.buildView()
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
	s.recycle(evs)
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
			s.rooms = append(s.rooms, RoomInfo{ID: r.GetId(), Game: r.GetGame(), Players: int(r.GetPlayers()), Capacity: int(r.GetCapacity())})
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
			s.names[game.PlayerID(p.GetId())] = p.GetName()
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
	s.def, s.client = nil, nil
	s.self = 0
	s.pred = nil
	s.tl = nil
	s.interp = nil
	s.haveNewest = false
}

// startMembership begins a membership in the room j describes, or refuses
// it (leaving the room again) when this client cannot play its game: the
// registry has no such game, the room's schema is not the game's (client
// and server are different versions), or its description does not parse.
func (s *Session) startMembership(j *sessionpb.Joined, spectate bool) {
	room := j.GetRoom().GetId()
	def, cl, err := s.gameOf(j)
	if err != nil {
		s.refuse(fmt.Sprintf("left room %s: %v", room, err))
		return
	}
	s.joined = j
	s.spectate = spectate
	s.def, s.client = def, cl
	s.self = game.PlayerID(j.GetPlayerId())
	s.memberships++
	s.tickRate = 60
	snapRate := 30.0
	if c := s.curConn; c != nil {
		if w := c.Welcome(); w != nil {
			s.tickRate = float64(max(w.GetTickRate(), 1))
			snapRate = float64(max(w.GetSnapshotRate(), 1))
		}
	}
	s.tl = newTimeline(s.tickRate, snapRate, s.cfg.InterpDelay.Seconds())
	s.interp = newInterpolator(def.Schema)
	s.pred = nil
	s.haveNewest = false
	s.inputStart, s.inputsSent = time.Time{}, 0
	s.net.membershipStart = time.Now()
	s.net.correctionsAtStart = s.net.Corrections
	if spectate || s.self == 0 {
		s.phase = PhaseSpectating
		s.status = "watching room " + room
	} else {
		s.phase = PhasePlaying
		s.status = "playing in room " + room
		if cl != nil {
			s.pred = newPredictor(cl, def.Schema, s.self)
		}
	}
}

// gameOf finds the game of the room j describes in the registry, checks
// that the room replicates that game's schema, and builds its client-side
// rules (nil for a game without).
func (s *Session) gameOf(j *sessionpb.Joined) (*game.Def, game.Client, error) {
	name := j.GetGame()
	var def *game.Def
	if s.cfg.Games != nil {
		def = s.cfg.Games.Lookup(name)
	}
	if def == nil {
		known := "none"
		if s.cfg.Games != nil && len(s.cfg.Games.Defs()) > 0 {
			known = strings.Join(s.cfg.Games.Names(), ", ")
		}
		return nil, nil, fmt.Errorf("it plays %q, which this client cannot play (it knows: %s)", name, known)
	}
	schema, err := netcode.SchemaFromProto(j.GetSchema())
	if err != nil {
		return nil, nil, err
	}
	if !schema.Equal(def.Schema) {
		return nil, nil, fmt.Errorf("the server's %s replicates another schema than this client's: they are different versions of the game", name)
	}
	if def.Client == nil {
		return def, nil, nil
	}
	cl, err := def.Client(j.GetDescribe())
	if err != nil {
		return nil, nil, fmt.Errorf("the server's description of its %s match does not parse: %v", name, err)
	}
	return def, cl, nil
}

// refuse goes back to the lobby with status and gives the seat just taken
// up on a helper goroutine (a lobby action may still be finishing).
func (s *Session) refuse(status string) {
	s.enterLobby(status)
	s.log.Warn("room refused", "why", status)
	c := s.curConn
	if c == nil {
		return
	}
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		_ = c.Leave(ctx)
	})
}

// snapshot takes one received state into the timeline and the predictor.
func (s *Session) snapshot(e *event) {
	sn := e.snap
	if s.joined == nil || sn.joined != s.joined {
		return // crossed a join or a leave
	}
	st := sn.state
	s.newest.CopyFrom(st)
	s.haveNewest = true
	s.net.snaps++
	s.tl.add(st, e.at.Sub(s.epoch).Seconds())
	if s.pred != nil && s.pred.snapshot(sn.tick, sn.ack, st) {
		s.net.Corrections++
	}
	if s.phase != PhasePlaying || !s.def.TickInputs || s.noInput {
		if c := s.curConn; c != nil {
			_ = c.Ack() // acknowledged without inputs: a spectator, a game of sparse inputs
		}
	}
}

// maxCatchUpInputs bounds the inputs one frame sends after a stall; past it
// the input clock restarts instead of bursting. It is the server's default
// input burst (-input-burst 8): a game loop that runs slowly (a browser
// tab drawing 8 frames a second in software) still sends one input per
// tick, while a long stall (a background tab, whose frames the browser
// stops) sends one input when it comes back instead of a burst the server
// would drop.
const maxCatchUpInputs = 8

// sendMove sends the player's move. Events go at once (reliable, in
// order). For a game with TickInputs, m.Input goes once per server tick due
// on the client's clock, each carrying the view tick (what the player saw
// of the others, for lag compensation); otherwise once, when not empty.
// Every input sent is predicted at once. Inputs wait for the first
// snapshot.
func (s *Session) sendMove(now time.Time, m *game.Move) {
	c := s.curConn
	if c == nil {
		return
	}
	for _, ev := range m.Events {
		if err := c.Emit(ev.Name, ev.Payload); err != nil {
			s.status = fmt.Sprintf("event %s: %v", ev.Name, err)
		}
	}
	if !s.haveNewest {
		return
	}
	if !s.def.TickInputs {
		if len(m.Input) > 0 {
			s.sendInput(c, m.Input)
		}
		return
	}
	if len(m.Input) == 0 {
		// Nothing to send (a renderer or brain gave no input): the input
		// clock restarts when there is one, and snapshots are acknowledged
		// without inputs meanwhile.
		s.noInput, s.inputStart, s.inputsSent = true, time.Time{}, 0
		return
	}
	s.noInput = false
	if s.inputStart.IsZero() {
		s.inputStart = now
	}
	due := int64(now.Sub(s.inputStart).Seconds()*s.tickRate) + 1 - s.inputsSent
	if due > maxCatchUpInputs {
		s.inputStart = now
		s.inputsSent = 0
		due = 1
	}
	for ; due > 0; due-- {
		if !s.sendInput(c, m.Input) {
			return // the close event follows
		}
		s.inputsSent++
	}
}

// sendInput sends one input with the view tick and predicts it.
func (s *Session) sendInput(c *client.Conn, in []byte) bool {
	if limit := s.def.InputLimit(); len(in) > limit {
		s.status = fmt.Sprintf("an input of %d bytes not sent: %s takes at most %d", len(in), s.def.Name, limit)
		return false
	}
	vt := s.viewTick()
	seq, err := c.SendInput(in, vt)
	if err != nil {
		return false
	}
	if s.pred != nil {
		s.pred.sent(seq, in, vt)
	}
	return true
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

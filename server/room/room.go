// Package room runs one match: a goroutine that alone owns a game's Match,
// steps it on a drift-free schedule, applies its members' inputs and
// events, and sends each member a delta snapshot of the replicated state
// against what that member acknowledged.
//
// Other goroutines use only Join, Member's methods, Info, Save and Close,
// which are safe for concurrent use. The tick never blocks on the network:
// frames go to each member's outbox, which a transport drains.
//
// room imports the game API, netcode and proto; never a game, the lobby, the
// gateway or a transport.
package room

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

var (
	// ErrFull means the room has no free seat.
	ErrFull = errors.New("room: full")
	// ErrClosed means the room has closed (or is closing).
	ErrClosed = errors.New("room: closed")
	// ErrPanicked is the reason given to members of a room whose tick panicked.
	ErrPanicked = errors.New("room: internal error")
	// ErrSlowConsumer is the reason a member is removed when its reliable
	// queue is full.
	ErrSlowConsumer = errors.New("room: member did not keep up")
	// ErrShutdown is the reason given when the server closes the room.
	ErrShutdown = errors.New("room: closed by the server")
	// ErrMatchEnded is the reason the room closes after its match ended.
	ErrMatchEnded = errors.New("room: the match ended")
	// ErrRefused wraps the game's reason for refusing a seat.
	ErrRefused = errors.New("room: the game refused the seat")
)

// Room is one match. Create it with New; it runs until Close, until it has
// been empty for Config.EmptyGrace, or until its tick panics.
type Room struct {
	id       string
	cfg      Config
	def      *game.Def
	log      *slog.Logger
	describe []byte // the match's Describe, sent in every Joined
	schemaPB []byte // the game's schema, encoded once for every Joined
	onClose  func(*Room)

	ctrl      chan func() // requests run on the room goroutine; bounded
	stop      chan struct{}
	stopOnce  sync.Once
	stopWhy   atomic.Pointer[error]
	done      chan struct{}
	seats     atomic.Int32 // players, including joins in flight
	watchers  atomic.Int32 // spectators, including joins in flight
	tickNow   atomic.Uint32
	stats     atomic.Pointer[TickStats]
	overruns  atomic.Uint64
	skipped   atomic.Uint64
	snapshots atomic.Uint64 // snapshot frames offered to members
	fullSnaps atomic.Uint64 // of which full (no usable baseline)
	encodes   atomic.Uint64 // state encodings: one per distinct baseline per snapshot
	// Operations (totals.go, view.go): metrics, overload, watchers.
	snapshotBytes   atomic.Uint64 // bytes of snapshot frames offered, published by flush
	inputsDropped   atomic.Uint64 // members' inputs dropped from full queues
	overloadedSince atomic.Int64  // unix nanos; 0 while ticks keep to the budget
	watchUntil      atomic.Int64  // unix nanos until which a watcher wants views
	view            atomic.Pointer[View]
	roster          atomic.Pointer[[]string]
	result          atomic.Pointer[game.Result]

	// Owned by the room goroutine.
	match       game.Match
	ctx         *game.Context
	viewer      game.Viewer // the match's, when it filters what members see
	members     []*Member
	nextPlayer  game.PlayerID
	snapAcc     uint32
	hist        history
	cache       baselineCache
	enc         netcode.Encoder
	events      []memberEvent // events of this tick, in arrival order
	frame       []byte
	rosterState rosters // roster changes, sent at most once a tick (roster.go)
	emptySince  time.Time
	durations   [256]time.Duration
	durN        int
	lastStats   time.Time
	tally       tally
	viewAcc     uint32
	released    bool // a Frozen's Release: the room ends with ErrMoved
}

// TickStats summarises recent tick durations (the last 256 ticks, refreshed
// about once a second).
type TickStats struct {
	P50, P99, Max time.Duration
}

// Info is a room's published state, safe to read from any goroutine.
type Info struct {
	ID         string
	Game       string
	Players    int
	Spectators int
	Capacity   int
	Tick       uint32
	TickStats  TickStats
	Overruns   uint64 // ticks whose work took longer than the period
	Skipped    uint64 // scheduled ticks skipped to catch up after overruns
	Snapshots  uint64 // snapshot frames offered to members
	FullSnaps  uint64 // of which full snapshots
	Encodes    uint64 // state encodings, one per distinct baseline per snapshot
	// SnapshotBytes is the bytes of snapshot frames offered to members,
	// updated about once a second (only with Config.Totals set).
	SnapshotBytes uint64
	// OverloadedFor is how long ticks have kept overrunning (more than one
	// in ten, every second); 0 when they keep to the budget.
	OverloadedFor time.Duration
}

// New starts a room playing a new match of cfg.Game. onClose, if not nil,
// is called from the room goroutine just before it exits, whatever the
// reason.
func New(id string, cfg Config, onClose func(*Room)) (*Room, error) {
	r, err := newRoom(id, cfg, onClose)
	if err != nil {
		return nil, err
	}
	r.start()
	return r, nil
}

func (r *Room) start() {
	r.log.Info("room opened", "game", r.def.Name, "capacity", r.cfg.Capacity, "tick_rate", r.cfg.TickRate, "snapshot_rate", r.cfg.SnapshotRate)
	go r.run()
}

// newRoom builds a room with a new match without starting its goroutine
// (benchmarks drive tick directly).
func newRoom(id string, cfg Config, onClose func(*Room)) (*Room, error) {
	r, err := prepare(id, cfg, onClose)
	if err != nil {
		return nil, err
	}
	r.ctx = game.NewContext(r, r.cfg.Seed)
	m, err := r.def.New(r.gameConfig())
	if err != nil {
		return nil, fmt.Errorf("room: new %s match: %w", r.def.Name, err)
	}
	r.setMatch(m)
	return r, nil
}

// prepare builds everything of a room but its match.
func prepare(id string, cfg Config, onClose func(*Room)) (*Room, error) {
	cfg.Fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		for _, c := range id {
			cfg.Seed = cfg.Seed*31 + uint64(c)
		}
	}
	r := &Room{
		id: id, cfg: cfg, def: cfg.Game, log: cfg.Logger.With("room", id), onClose: onClose,
		ctrl: make(chan func(), 256), stop: make(chan struct{}), done: make(chan struct{}),
		nextPlayer: 1, hist: newHistory(cfg.History, cfg.Game.Schema),
	}
	r.schemaPB = netcode.Marshal(netcode.SchemaProto(cfg.Game.Schema))
	r.stats.Store(&TickStats{})
	return r, nil
}

func (r *Room) gameConfig() game.Config {
	return game.Config{TickRate: r.cfg.TickRate, Capacity: r.cfg.Capacity, Seed: r.cfg.Seed, Params: r.cfg.Params}
}

func (r *Room) setMatch(m game.Match) {
	r.match = m
	r.viewer, _ = m.(game.Viewer)
	r.describe = m.Describe()
}

// ID returns the room's id.
func (r *Room) ID() string { return r.id }

// Done is closed when the room's goroutine has exited.
func (r *Room) Done() <-chan struct{} { return r.done }

// Info returns the room's published state.
func (r *Room) Info() Info {
	return Info{
		ID: r.id, Game: r.def.Name, Players: int(r.seats.Load()), Spectators: int(r.watchers.Load()),
		Capacity: r.cfg.Capacity, Tick: r.tickNow.Load(), TickStats: *r.stats.Load(),
		Overruns: r.overruns.Load(), Skipped: r.skipped.Load(),
		Snapshots: r.snapshots.Load(), FullSnaps: r.fullSnaps.Load(), Encodes: r.encodes.Load(),
		SnapshotBytes: r.snapshotBytes.Load(), OverloadedFor: r.overloadedFor(time.Now()),
	}
}

// Proto returns Info as the wire's RoomInfo.
func (i Info) Proto() *sessionpb.RoomInfo {
	return &sessionpb.RoomInfo{Id: i.ID, Game: i.Game, Players: uint32(i.Players), Capacity: uint32(i.Capacity), Tick: i.Tick}
}

// Close stops the room: members are told why (reason; nil means
// ErrShutdown) and removed. It does not wait; see Done.
func (r *Room) Close(reason error) {
	if reason == nil {
		reason = ErrShutdown
	}
	r.stopOnce.Do(func() {
		r.stopWhy.Store(&reason)
		close(r.stop)
	})
}

// post runs f on the room goroutine at the start of its next tick.
func (r *Room) post(ctx context.Context, f func()) error {
	select {
	case r.ctrl <- f:
		return nil
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// JoinRequest describes who wants a seat.
type JoinRequest struct {
	Name     string
	Spectate bool
	// RequestID is echoed in the Joined frame.
	RequestID uint32
	// Out receives the member's frames: Joined first, then roster changes
	// and snapshots.
	Out *outbox.Outbox
	// OnRemoved, if not nil, is called once from the room goroutine when the
	// member leaves the room for any reason other than Leave: the room
	// closed, or the member could not keep up. It must not block.
	OnRemoved func(reason error)
}

// Join takes a seat (or a spectator's place). On success the Joined frame is
// already in req.Out, ahead of any snapshot.
func (r *Room) Join(ctx context.Context, req JoinRequest) (*Member, error) {
	counter := &r.seats
	if req.Spectate {
		counter = &r.watchers
	}
	if counter.Add(1) > int32(r.cfg.Capacity) {
		counter.Add(-1)
		return nil, ErrFull
	}
	m := &Member{room: r, name: req.Name, out: req.Out, onRemoved: req.OnRemoved, spectator: req.Spectate}
	m.init()
	result := make(chan error, 1)
	if err := r.post(ctx, func() { result <- r.add(m, req.RequestID) }); err != nil {
		counter.Add(-1)
		return nil, err
	}
	select {
	case err := <-result:
		if err != nil {
			counter.Add(-1)
			return nil, err
		}
		return m, nil
	case <-r.done:
		return nil, ErrClosed
	}
}

// Member is one seat (or spectator) in a room. Its methods are safe for
// concurrent use.
type Member struct {
	room      *Room
	name      string
	out       *outbox.Outbox
	onRemoved func(error)
	spectator bool
	player    game.PlayerID // set on the room goroutine before Join returns
	inputs    inputQueue
	acked     atomic.Uint32
	leaving   atomic.Bool

	// Owned by the room goroutine.
	inputAck  uint32
	removed   bool
	savedHeld bool         // restore: the held flag the member was saved with
	held      bool         // the connection is lost; the seat is held
	scratch   pendingInput // the input the match is reading
	// With a game that filters what members see (game.Viewer): what this
	// member saw of each history slot, and its hash.
	vis  []game.Visibility
	seen []seen
}

// seen is which tick a member's visibility of a history slot belongs to,
// and its hash.
type seen struct {
	tick uint32
	hash uint64
}

func (m *Member) init() {
	m.inputs.drops = &m.room.inputsDropped
	if m.room.viewer != nil {
		m.vis = make([]game.Visibility, len(m.room.hist.tables))
		m.seen = make([]seen, len(m.room.hist.tables))
	}
}

// PlayerID is the member's player id (its entity id in the player kind); 0
// for a spectator.
func (m *Member) PlayerID() game.PlayerID { return m.player }

// Name is the member's display name.
func (m *Member) Name() string { return m.name }

// Spectator reports whether the member watches without a seat.
func (m *Member) Spectator() bool { return m.spectator }

// Room returns the member's room.
func (m *Member) Room() *Room { return m.room }

// Submit queues inputs numbered firstSeq, firstSeq+1, ... for the coming
// ticks and says what became of them: sequence numbers already applied or
// queued, or implausibly far ahead, are refused. Inputs of a spectator are
// ignored (a zero Verdict).
func (m *Member) Submit(firstSeq uint32, ins []game.Input) Verdict {
	if m.spectator {
		return Verdict{}
	}
	return m.inputs.add(firstSeq, ins)
}

// Ack records that the member holds the snapshot of tick; later snapshots
// are deltas from the newest acknowledged one still in the room's history.
func (m *Member) Ack(tick uint32) {
	for {
		old := m.acked.Load()
		if tick <= old || tick > m.room.tickNow.Load() || m.acked.CompareAndSwap(old, tick) {
			return
		}
	}
}

// ForgetAck drops the member's acknowledged baseline: its next snapshot is
// a full one. For a client that resumed without the states it had decoded
// (Hello.last_tick 0). Safe for concurrent use.
func (m *Member) ForgetAck() { m.acked.Store(0) }

// InputsDropped is how many of this member's inputs were dropped because its
// queue was full.
func (m *Member) InputsDropped() uint64 {
	m.inputs.mu.Lock()
	defer m.inputs.mu.Unlock()
	return m.inputs.dropped
}

// InputsStarved is how many ticks this member's player stood still because
// no input had arrived for it (late or missing inputs).
func (m *Member) InputsStarved() uint64 {
	m.inputs.mu.Lock()
	defer m.inputs.mu.Unlock()
	return m.inputs.starved
}

// Leave gives up the seat without a word to the member (its connection is
// gone). It does not wait for the room; calling it twice is harmless.
func (m *Member) Leave() { m.leave(false, 0) }

// LeaveWithReply gives up the seat and queues a Left frame answering
// requestID (0 when the request had none).
func (m *Member) LeaveWithReply(requestID uint32) { m.leave(true, requestID) }

func (m *Member) leave(reply bool, requestID uint32) {
	if m.leaving.Swap(true) {
		return
	}
	r := m.room
	_ = r.post(context.Background(), func() {
		if m.removed {
			return
		}
		r.remove(m, nil)
		if reply {
			_ = m.out.Push(netcode.Marshal(&sessionpb.ServerMessage{RequestId: requestID,
				Body: &sessionpb.ServerMessage_Left{Left: &sessionpb.Left{RoomId: r.id, Reason: "left"}}}))
		}
	})
}

// run is the room goroutine. It exits on Close, after EmptyGrace without
// members, or when a tick panics; in every case members are removed and
// onClose is called.
func (r *Room) run() {
	reason := ErrShutdown
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("room tick panicked; closing the room", "tick", r.ctx.Tick(), "panic", p, "stack", string(debug.Stack()))
			reason = ErrPanicked
		}
		r.closeMembers(reason)
		r.flush(time.Now())
		if r.onClose != nil {
			r.onClose(r)
		}
		close(r.done)
		r.log.Info("room closed", "reason", reason.Error(), "tick", r.ctx.Tick())
	}()
	reason = r.loop()
}

// loop ticks on a drift-free schedule: tick n runs at start + n·period. After
// an overrun it runs at most MaxCatchUp late ticks back to back, then skips
// the schedule ahead rather than bursting.
func (r *Room) loop() error {
	period := time.Second / time.Duration(r.cfg.TickRate)
	start := alignedStart(time.Now(), period, r.id)
	timer := time.NewTimer(period)
	defer timer.Stop()
	for n := int64(1); ; n++ {
		target := start.Add(time.Duration(n) * period)
		if wait := time.Until(target); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-r.stop:
				return *r.stopWhy.Load()
			}
		} else {
			if late := -wait; late > time.Duration(r.cfg.MaxCatchUp)*period {
				skip := int64(late / period)
				n += skip
				r.skipped.Add(uint64(skip))
			}
			select {
			case <-r.stop:
				return *r.stopWhy.Load()
			default:
			}
		}
		t0 := time.Now()
		ended := r.tick()
		if r.released {
			return ErrMoved
		}
		work := time.Since(t0)
		r.record(t0, work, period)
		if r.cfg.OnTick != nil {
			r.cfg.OnTick(r.id, work)
		}
		r.publishView(t0)
		if ended {
			return ErrMatchEnded
		}
		if len(r.members) == 0 && r.seats.Load() == 0 && r.watchers.Load() == 0 {
			if r.emptySince.IsZero() {
				r.emptySince = t0
			} else if t0.Sub(r.emptySince) >= r.cfg.EmptyGrace {
				return ErrClosed
			}
		} else {
			r.emptySince = time.Time{}
		}
	}
}

// tickSlots is how many instants of each tick period rooms tick at.
const tickSlots = 2

// alignedStart is the instant a room's schedule counts from: now rounded
// down to a multiple of period on the wall clock, keeping now's monotonic
// reading (the schedule after it ignores wall-clock steps), then moved to
// one of tickSlots evenly spaced slots of the period, chosen by the room's
// id. Rooms of one tick rate then tick at tickSlots instants a period, so
// a process hosting many rooms wakes a few times per tick for all of them
// instead of once per room, while each wake-up's burst of work is half
// the rooms'. (One instant for all was cheaper still, but made every
// room's tick coincide with any stall, such as a collection after a
// panic elsewhere, so their tick times' tail moved together.)
func alignedStart(now time.Time, period time.Duration, id string) time.Time {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	slot := time.Duration(h.Sum32()%tickSlots) * (period / tickSlots)
	start := now.Add(-now.Sub(now.Truncate(period))).Add(slot)
	if start.After(now) {
		start = start.Add(-period)
	}
	return start
}

// tick is one step of the match: requests, inputs, events, Step,
// snapshots. It reports whether the match ended.
func (r *Room) tick() (ended bool) {
	for {
		select {
		case f := <-r.ctrl:
			f()
			if r.released {
				return false // handed off (Freeze): not one more step
			}
			continue
		default:
		}
		break
	}
	r.flushRoster() // after joins and leaves, before this tick's snapshot
	for _, m := range r.members {
		if m.player != 0 {
			m.inputAck = m.inputs.apply(r, m.player, &m.scratch)
		}
	}
	r.handleEvents()
	r.ctx.Advance()
	r.match.Step(r.ctx)
	tick := r.ctx.Tick()
	r.tickNow.Store(tick)
	r.snapAcc += r.cfg.SnapshotRate
	if r.snapAcc >= r.cfg.TickRate {
		r.snapAcc -= r.cfg.TickRate
		r.snapshot(tick)
	}
	if res, ok := r.ctx.Ended(); ok {
		r.end(res)
		return true
	}
	return false
}

// add seats m; it runs on the room goroutine.
func (r *Room) add(m *Member, requestID uint32) error {
	if !m.spectator {
		m.player = r.nextPlayer
		if err := r.match.Join(r.ctx, m.player, m.name); err != nil {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		r.nextPlayer++
	}
	joined := netcode.AppendJoinedFrame(nil, requestID, netcode.Marshal(r.Info().Proto()), uint32(m.player), r.ctx.Tick(),
		r.def.Name, r.describe, r.schemaPB)
	if err := m.out.Push(joined); err != nil {
		if !m.spectator {
			r.match.Leave(r.ctx, m.player)
		}
		return err
	}
	r.members = append(r.members, m)
	r.log.Debug("member joined", "player", m.player, "name", m.name, "spectator", m.spectator)
	r.rosterTo(m)
	return nil
}

// remove takes m out of the room; reason nil means it left by itself.
func (r *Room) remove(m *Member, reason error) {
	m.removed = true
	r.sweep(reason)
}

// sweep drops every member marked removed, frees their seats and tells the
// others.
func (r *Room) sweep(reason error) {
	kept := r.members[:0]
	for _, m := range r.members {
		if !m.removed {
			kept = append(kept, m)
			continue
		}
		if m.spectator {
			r.watchers.Add(-1)
		} else {
			r.match.Leave(r.ctx, m.player)
			r.seats.Add(-1)
		}
		if reason != nil && m.onRemoved != nil {
			m.onRemoved(reason)
		}
	}
	clear(r.members[len(kept):])
	r.members = kept
	r.rosterChanged()
}

// broadcast pushes a reliable frame to every member. A member whose queue is
// full is removed and its connection closed as a slow consumer.
func (r *Room) broadcast(frame []byte) { r.broadcastPolicy(frame, nil, outbox.Keep) }

// broadcastEvent pushes an event frame (outbox.Bounded) to every member
// but except.
func (r *Room) broadcastEvent(frame []byte, except *Member) {
	r.broadcastPolicy(frame, except, outbox.Bounded)
}

// broadcastPolicy pushes a frame with policy p to every member but except.
func (r *Room) broadcastPolicy(frame []byte, except *Member, p outbox.Policy) {
	slow := false
	for _, m := range r.members {
		if m == except || m.removed {
			continue
		}
		if err := m.out.PushPolicy(frame, p); errors.Is(err, outbox.ErrFull) {
			r.cutSlow(m)
			slow = true
		}
	}
	if slow {
		r.sweep(ErrSlowConsumer)
	}
}

// closeMembers removes everyone, telling them why.
func (r *Room) closeMembers(reason error) {
	code := sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED
	frame := netcode.ErrorFrame(0, code, false, reason.Error())
	moved := errors.Is(reason, ErrMoved) // the server that moved them tells them
	for _, m := range r.members {
		if !moved {
			_ = m.out.Push(frame)
		}
		m.removed = true
		if m.onRemoved != nil && !moved {
			m.onRemoved(reason)
		}
		if m.spectator {
			r.watchers.Add(-1)
		} else {
			r.seats.Add(-1)
		}
	}
	r.members = nil
	// Joins still queued find the room closed.
	for {
		select {
		case <-r.ctrl:
		default:
			return
		}
	}
}

// record keeps the tick duration and refreshes the published statistics
// about once a second.
func (r *Room) record(now time.Time, d, period time.Duration) {
	if d > period {
		r.overruns.Add(1)
	}
	if r.cfg.Totals != nil {
		r.tally.tick(d)
	}
	r.durations[r.durN%len(r.durations)] = d
	r.durN++
	if now.Sub(r.lastStats) < time.Second {
		return
	}
	r.lastStats = now
	r.flush(now)
	n := min(r.durN, len(r.durations))
	r.stats.Store(summarize(r.durations[:n]))
}

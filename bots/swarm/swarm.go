// Package swarm runs many headless bots against a server: each connects,
// joins a match of the configured game and plays with that game's Brain,
// while the swarm measures what the players see (snapshot rate and
// delivery, bandwidth, input→ack latency, prediction agreement) and
// reports it live and at the end.
//
// Bots are clients without a renderer: swarm uses the same client package
// as the desktop client and the game API, and never imports the server or
// a game (the bots command's registry hands it one).
package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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

// Config is a swarm's settings. Zero fields take defaults, except Game.
type Config struct {
	// Game is the game the bots play: they quick-join or create rooms of
	// it, and each plays with Game.Brain(Seed+i). Required, with a Brain
	// (the bots command takes it from its registry: arena by default).
	Game *game.Def
	// URL is the server's WebSocket endpoint. Default ws://127.0.0.1:8080/ws.
	URL string
	// Bots is how many bots to run. Default 16.
	Bots int
	// RoomSize, when non-zero, groups the bots into rooms of that many: the
	// first of each group creates the room and the others join it. Zero
	// means every bot quick-joins.
	RoomSize int
	// Duration is how long to measure once every bot has connected; zero
	// means until ctx ends.
	Duration time.Duration
	// Seed makes the bots' choices reproducible. Bot i uses Seed+i.
	Seed uint64
	// ConnectRate bounds new connections per second. Default 200.
	ConnectRate int
	// Transport is "auto" (WebSocket, falling back to long-polling), "ws"
	// or "poll". Default "auto".
	Transport string
	// Dial holds transport options for every bot.
	Dial wsconn.DialOptions
	// Link, when active, puts a link conditioner (latency, jitter,
	// bandwidth) on every bot's connections (either transport), on the
	// bots' side. Bot i seeds
	// its jitter with Link.Seed+i. Default: none.
	Link linkcond.Config
	// Cheap makes every bot a load generator: it acknowledges and measures
	// snapshots without decoding their state, its brain sees a Scene that
	// is never Ready (the arena's sweeps its aim instead of aiming), and it
	// does not check its prediction. Over WebSocket without a
	// link conditioner it runs on a bare connection (no resume, no
	// heartbeat echo), about 0.9 of a core for 960 bots; otherwise on the
	// full client without state decoding.
	// The server cannot tell the difference. Default false.
	Cheap bool
	// InputBatch is how many inputs each bot sends in one frame
	// (client.Config.InputBatch): with 2 a bot sends 30 input frames a
	// second at 60 ticks, each input measured from when the brain made it.
	// Default 1.
	InputBatch int
	// Progress receives a live status line every second; nil for none.
	Progress io.Writer
	// OnMeasure, if set, is called when the measurement window starts
	// (every bot connected or failed), with the number connected.
	OnMeasure func(connected int)
}

// MaxInputBatch is the largest Config.InputBatch.
const MaxInputBatch = client.MaxInputBatch

// Report is what a run measured. Its JSON form is read by other tools: keep
// the field names.
type Report struct {
	Game             string     `json:"game"`
	Bots             int        `json:"bots"`
	Connected        int        `json:"connected"`
	Errors           int        `json:"errors"`
	DurationS        float64    `json:"duration_s"`
	SnapshotsPerBotS float64    `json:"snapshots_per_bot_s"`
	BytesDownPerBotS float64    `json:"bytes_down_per_bot_s"`
	BytesUpPerBotS   float64    `json:"bytes_up_per_bot_s"`
	InputAckMs       Latency    `json:"input_ack_ms"`
	Transport        Transports `json:"transport"`
	// Fleets (issue 16): what moving sessions between servers cost the
	// players. MatchesEnded counts the rooms whose match ended under a
	// bot before the run did (closed by a drain, a crash, or the game);
	// SessionsLost the bots whose session ended before the run did; Moves
	// the sessions a draining server handed to another (Move) that
	// resumed there; MovePauseMs, per move, the time from the newest
	// snapshot before the Move to the first one after it; MoveBytes, per
	// move, what the client downloaded from the Move through that first
	// snapshot (Welcome, replayed frames, the snapshot); MoveSnapshotBytes
	// that first snapshot, MoveFullSnapshotBytes what a full snapshot of
	// the same state would have been (encoded by the bot), and
	// MoveFullSnapshots how many moves got a full one; and
	// AckedInputsLostOrDoubled the acknowledged inputs the server later
	// counted as not applied (the input ack going back: those would be
	// lost, or applied twice).
	MatchesEnded             int     `json:"matches_ended"`
	SessionsLost             int     `json:"sessions_lost"`
	Moves                    uint64  `json:"moves"`
	MovePauseMs              Latency `json:"move_pause_ms"`
	MoveBytes                Sizes   `json:"move_bytes"`
	MoveSnapshotBytes        Sizes   `json:"move_snapshot_bytes"`
	MoveFullSnapshotBytes    Sizes   `json:"move_full_snapshot_bytes"`
	MoveFullSnapshots        uint64  `json:"move_full_snapshots"`
	AckedInputsLostOrDoubled uint64  `json:"acked_inputs_lost_or_doubled"`
	// Crashes (issue 16): Restores counts the sessions that resumed on a
	// server that restored their match from a checkpoint after theirs
	// died (Welcome.moved without a Move on their connection);
	// CrashPlayLostS, per restore, the play that went back: from the
	// checkpoint's tick (Move.tick) to the newest tick the bot saw from
	// the dead server, in seconds; CrashInputsLost the acknowledged inputs
	// the first snapshot after the restore no longer counted (a lower
	// bound: inputs sent after the restore may already cover them).
	Restores        uint64  `json:"restores"`
	CrashPlayLostS  Seconds `json:"crash_play_lost_s"`
	CrashInputsLost uint64  `json:"crash_inputs_lost"`
	// CrashPauseS is, per restore, the time from the last snapshot before
	// the crash to the first one after the restore.
	CrashPauseS Seconds `json:"crash_pause_s"`

	// Not part of the JSON report.
	PredictionChecks uint64 `json:"-"` // own-player predictions compared
	PredictionMisses uint64 `json:"-"` // of which the server disagreed
	// PredictionInteractions counts predictions not compared because a
	// field the game does not mark Predicted differed from the prediction:
	// something the bot could not foresee touched its player (a hit, a
	// death; in the arena also a fire cooldown moved by a late input).
	PredictionInteractions uint64    `json:"-"`
	ErrorList              []string  `json:"-"` // the first errors seen, for humans
	Resumes                uint64    `json:"-"` // sessions resumed after a lost connection
	SnapshotRates          []float64 `json:"-"` // per connected bot, snapshots/s
	// SnapshotDelivery is, per connected bot, the snapshots it received
	// over those the server sent in the ticks the window spanned (the
	// server's tick and snapshot rates): 1 when none was skipped, whatever
	// the wall clock did.
	SnapshotDelivery []float64 `json:"-"`
	// FullSnapshots counts the snapshots without a baseline the bots
	// received during the window, each bot's first one aside: a bot that
	// acknowledges what it received gets deltas.
	FullSnapshots uint64 `json:"-"`
	// Fleets: bots a redirect moved to another server than Config.URL,
	// and the join latency (JoinRoom sent to Joined received, redirect and
	// new session included) of the bots seated directly and of those.
	Redirected     int     `json:"-"`
	JoinDirectMs   Latency `json:"-"`
	JoinRedirectMs Latency `json:"-"`
}

// Latency is a distribution summary in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Seconds summarises durations in seconds.
type Seconds struct {
	P50 float64 `json:"p50"`
	Max float64 `json:"max"`
}

// Sizes summarises byte counts.
type Sizes struct {
	P50 uint64 `json:"p50"`
	Max uint64 `json:"max"`
}

// Transports counts bots by the transport they ended on.
type Transports struct {
	WS   int `json:"ws"`
	Poll int `json:"poll"`
}

// Failed reports whether any bot failed to connect or saw an error.
func (r *Report) Failed() bool { return r.Errors > 0 || r.Connected < r.Bots }

// ErrConfig is wrapped by Run's errors about its Config.
var ErrConfig = errors.New("swarm: invalid config")

func (c *Config) fill() error {
	if c.Game == nil {
		return fmt.Errorf("%w: no game", ErrConfig)
	}
	if c.Game.Brain == nil {
		return fmt.Errorf("%w: game %s has no brain: bots cannot play it", ErrConfig, c.Game.Name)
	}
	if c.URL == "" {
		c.URL = "ws://127.0.0.1:8080/ws"
	}
	if c.Bots <= 0 {
		c.Bots = 16
	}
	if c.ConnectRate <= 0 {
		c.ConnectRate = 200
	}
	if c.Transport == "" {
		c.Transport = "auto"
	}
	return nil
}

// swarm is one run's shared state.
type swarm struct {
	cfg       Config
	bots      []*bot
	connected atomic.Int64
	failed    atomic.Int64
	errMu     sync.Mutex
	errs      []string
}

func (s *swarm) fail(b *bot, err error) {
	s.failed.Add(1)
	s.errMu.Lock()
	if len(s.errs) < 10 {
		s.errs = append(s.errs, fmt.Sprintf("bot %d: %v", b.id, err))
	}
	s.errMu.Unlock()
}

// Run connects the bots, lets them play for cfg.Duration after the last
// one connected (or until ctx ends), and reports. It returns an error only
// when it could not run at all; failing bots are counted in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &swarm{cfg: cfg}
	playCtx, stopPlay := context.WithCancel(ctx)
	defer stopPlay()

	rooms := newRoomDirectory()
	var wg sync.WaitGroup
	ready := make(chan struct{}, cfg.Bots)
	pace := time.NewTicker(time.Second / time.Duration(cfg.ConnectRate))
	defer pace.Stop()
	for i := range cfg.Bots {
		b := newBot(i, cfg.Game, cfg.Seed+uint64(i), cfg.Cheap)
		b.inputBatch = min(max(cfg.InputBatch, 1), MaxInputBatch)
		s.bots = append(s.bots, b)
		select {
		case <-pace.C:
		case <-ctx.Done():
		}
		wg.Go(func() {
			err := s.runBot(playCtx, b, rooms, ready)
			if err != nil && playCtx.Err() == nil {
				s.fail(b, err)
			}
		})
	}
	// Wait for every bot to be connected (or failed) before measuring.
	for waited := 0; waited < cfg.Bots; waited++ {
		select {
		case <-ready:
		case <-ctx.Done():
			waited = cfg.Bots
		}
	}

	start := time.Now()
	base := s.totals()
	if cfg.OnMeasure != nil {
		cfg.OnMeasure(int(s.connected.Load()))
	}
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		s.progress(playCtx, start)
	}()
	if cfg.Duration > 0 {
		select {
		case <-time.After(cfg.Duration):
		case <-ctx.Done():
		}
	} else {
		<-ctx.Done()
	}
	end := s.totals()
	elapsed := time.Since(start)
	stopPlay()
	wg.Wait()
	<-progressDone
	return s.report(base, end, elapsed), nil
}

// runBot connects one bot, joins, plays until ctx ends, and leaves. It
// signals ready once connected or failed.
func (s *swarm) runBot(ctx context.Context, b *bot, rooms *roomDirectory, ready chan<- struct{}) error {
	signalled := false
	signal := func() {
		if !signalled {
			signalled = true
			ready <- struct{}{}
		}
	}
	defer signal()
	if s.cfg.Cheap && s.cfg.Transport != "poll" && !s.cfg.Link.Active() {
		return s.runLean(ctx, b, rooms, signal)
	}
	protoErr := make(chan error, 1)
	dial, poll := s.cfg.Dial, client.PollOptions{}
	if s.cfg.Link.Active() {
		link := s.cfg.Link
		link.Seed += uint64(b.id)
		d := linkcond.Dialer(link, dial.DialContext)
		dial.DialContext, poll.DialContext = d, d
	}
	conn, err := client.Dial(ctx, client.Config{
		URL: s.cfg.URL, Name: fmt.Sprintf("bot-%d", b.id), Game: s.cfg.Game.Name, Dial: dial, Poll: poll,
		Transport: s.cfg.Transport, Seed: s.cfg.Seed + uint64(b.id) + 1, InputBatch: b.inputBatch,
		OnSnapshot: b.onSnapshot, OnInputAck: b.onInputAck, OnRoster: b.onRoster, SkipState: s.cfg.Cheap,
		OnMove: b.onMove, OnResume: b.onResume,
		OnError: func(e *netcode.Error) {
			b.onError(e)
			select {
			case protoErr <- e:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if err := checkWelcome(conn.Welcome()); err != nil {
		return err
	}
	b.mu.Lock()
	b.conn = conn
	b.mu.Unlock()

	joinStart := time.Now()
	j, err := s.join(ctx, b, conn, rooms)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	w := conn.Welcome()
	b.mu.Lock()
	b.joinTime, b.redirected = time.Since(joinStart), conn.Stats().Moves > 0
	b.roomID = j.GetRoom().GetId()
	b.tickRate, b.snapshotRate = w.GetTickRate(), w.GetSnapshotRate()
	b.mu.Unlock()
	if err := b.joined(j, conn); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	s.connected.Add(1)
	signal()

	playErr := make(chan error, 1)
	go func() { playErr <- b.play(ctx, int(w.GetTickRate())) }()
	playDone := false
	select {
	case err = <-playErr: // nil when ctx ended, else the connection broke
		playDone = true
	case err = <-protoErr:
	}
	if ctx.Err() != nil {
		leaveCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = conn.Leave(leaveCtx)
		cancel()
	} else {
		b.mu.Lock()
		select {
		case <-conn.Done():
			b.lost = true // the session ended under the bot
		default:
		}
		if b.ended == "" {
			b.ended = fmt.Sprint(err)
		}
		b.mu.Unlock()
	}
	_ = conn.Close()
	if !playDone {
		<-playErr // the loop ends with the connection
	}
	if ctx.Err() != nil && (err == nil || errors.Is(err, client.ErrClosed)) {
		return nil
	}
	return err
}

// join seats the bot: quick join, or the room of its group.
func (s *swarm) join(ctx context.Context, b *bot, conn *client.Conn, rooms *roomDirectory) (*sessionpb.Joined, error) {
	if s.cfg.RoomSize <= 0 {
		return conn.Join(ctx, "", false)
	}
	group := b.id / s.cfg.RoomSize
	id, err := rooms.get(ctx, group, func() (string, error) {
		info, err := conn.CreateRoom(ctx, uint32(s.cfg.RoomSize))
		if err != nil {
			return "", err
		}
		return info.GetId(), nil
	})
	if err != nil {
		return nil, err
	}
	return conn.Join(ctx, id, false)
}

// roomDirectory lets the first bot of each group create the group's room.
type roomDirectory struct {
	mu    sync.Mutex
	rooms map[int]*groupRoom
}

type groupRoom struct {
	done chan struct{}
	id   string
	err  error
}

func newRoomDirectory() *roomDirectory { return &roomDirectory{rooms: map[int]*groupRoom{}} }

func (d *roomDirectory) get(ctx context.Context, group int, create func() (string, error)) (string, error) {
	d.mu.Lock()
	g, ok := d.rooms[group]
	if !ok {
		g = &groupRoom{done: make(chan struct{})}
		d.rooms[group] = g
	}
	d.mu.Unlock()
	if !ok {
		g.id, g.err = create()
		close(g.done)
	}
	select {
	case <-g.done:
		return g.id, g.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

type totals struct {
	snapshots, bytesIn, bytesOut uint64
	fulls                        uint64   // full snapshots
	perBot                       []uint64 // snapshots received by each bot
	ticks                        []uint32 // each bot's newest snapshot tick
	ws, poll                     int      // bots by the transport they are on
	resumes                      uint64   // reconnections that resumed a session
}

func (s *swarm) totals() totals {
	var t totals
	for _, b := range s.bots {
		b.mu.Lock()
		c, lean := b.conn, b.lean
		snaps, tick := b.snaps, b.tick
		t.fulls += b.fulls
		b.mu.Unlock()
		if lean != nil {
			in, out := lean.stats()
			t.bytesIn += in
			t.bytesOut += out
			t.ws++
		}
		if c != nil {
			st := c.Stats()
			t.bytesIn += st.BytesIn
			t.bytesOut += st.BytesOut
			t.resumes += st.Resumes
			switch c.Transport() {
			case "ws":
				t.ws++
			case "poll":
				t.poll++
			}
		}
		t.snapshots += snaps
		t.perBot = append(t.perBot, snaps)
		t.ticks = append(t.ticks, tick)
	}
	return t
}

func (s *swarm) report(base, end totals, elapsed time.Duration) *Report {
	secs := elapsed.Seconds()
	r := &Report{
		Game: s.cfg.Game.Name, Bots: s.cfg.Bots, Connected: int(s.connected.Load()), Errors: int(s.failed.Load()),
		DurationS: secs,
	}
	r.Transport = Transports{WS: end.ws, Poll: end.poll}
	r.Resumes = end.resumes
	r.FullSnapshots = end.fulls - base.fulls
	var lat, joinDirect, joinRedirect, pauses Histogram
	var moveBytes, moveSnap, moveFull []uint64
	var lost, pauses2 []float64
	endedRooms := map[string]bool{}
	for i, b := range s.bots {
		b.mu.Lock()
		lat.Merge(&b.lat)
		pauses.Merge(&b.pauses)
		moveBytes = append(moveBytes, b.moveBytes...)
		moveSnap = append(moveSnap, b.moveSnap...)
		moveFull = append(moveFull, b.moveFull...)
		r.MoveFullSnapshots += b.moveFulls
		r.Restores += b.restores
		r.CrashInputsLost += b.crashInputs
		pauses2 = append(pauses2, b.crashPauses...)
		for _, tl := range b.ticksLost {
			if b.tickRate > 0 {
				lost = append(lost, float64(tl)/float64(b.tickRate))
			}
		}
		r.AckedInputsLostOrDoubled += b.ackBack
		if b.lost {
			r.SessionsLost++
		}
		if b.ended != "" && b.roomID != "" {
			endedRooms[b.roomID] = true
		}
		if b.conn != nil {
			r.Moves += b.conn.Stats().Handoffs
		}
		if b.joinTime > 0 && b.redirected {
			r.Redirected++
			joinRedirect.Add(b.joinTime)
		} else if b.joinTime > 0 {
			joinDirect.Add(b.joinTime)
		}
		r.PredictionChecks += b.checks
		r.PredictionMisses += b.misses
		r.PredictionInteractions += b.interactions
		connected := (b.conn != nil || b.lean != nil) && b.player != 0
		tickRate, snapshotRate := b.tickRate, b.snapshotRate
		b.mu.Unlock()
		if connected && secs > 0 {
			got := end.perBot[i] - base.perBot[i]
			r.SnapshotRates = append(r.SnapshotRates, float64(got)/secs)
			r.SnapshotDelivery = append(r.SnapshotDelivery, delivery(got, base.ticks[i], end.ticks[i], tickRate, snapshotRate))
		}
	}
	if n := float64(max(r.Connected, 1)); secs > 0 {
		r.SnapshotsPerBotS = float64(end.snapshots-base.snapshots) / secs / n
		r.BytesDownPerBotS = float64(end.bytesIn-base.bytesIn) / secs / n
		r.BytesUpPerBotS = float64(end.bytesOut-base.bytesOut) / secs / n
	}
	r.MatchesEnded = len(endedRooms)
	r.MovePauseMs = Latency{P50: ms(pauses.Quantile(0.5)), P99: ms(pauses.Quantile(0.99)), Max: ms(pauses.Max())}
	r.MoveBytes, r.MoveSnapshotBytes, r.MoveFullSnapshotBytes = sizes(moveBytes), sizes(moveSnap), sizes(moveFull)
	r.CrashPlayLostS, r.CrashPauseS = seconds(lost), seconds(pauses2)
	r.InputAckMs = Latency{P50: ms(lat.Quantile(0.5)), P99: ms(lat.Quantile(0.99)), Max: ms(lat.Max())}
	r.JoinDirectMs = Latency{P50: ms(joinDirect.Quantile(0.5)), P99: ms(joinDirect.Quantile(0.99)), Max: ms(joinDirect.Max())}
	r.JoinRedirectMs = Latency{P50: ms(joinRedirect.Quantile(0.5)), P99: ms(joinRedirect.Quantile(0.99)), Max: ms(joinRedirect.Max())}
	s.errMu.Lock()
	r.ErrorList = append(r.ErrorList, s.errs...)
	s.errMu.Unlock()
	return r
}

// delivery is the share of the snapshots sent between ticks from and to
// (snapshotRate of every tickRate ticks) that a bot received: got, counted
// from the snapshot after from through the one at to. 0 when the window
// spans no snapshot.
func delivery(got uint64, from, to, tickRate, snapshotRate uint32) float64 {
	if to <= from || tickRate == 0 || snapshotRate == 0 {
		return 0
	}
	sent := float64(to-from) * float64(snapshotRate) / float64(tickRate)
	return float64(got) / sent
}

func seconds(v []float64) Seconds {
	if len(v) == 0 {
		return Seconds{}
	}
	slices.Sort(v)
	return Seconds{P50: v[len(v)/2], Max: v[len(v)-1]}
}

func sizes(v []uint64) Sizes {
	if len(v) == 0 {
		return Sizes{}
	}
	slices.Sort(v)
	return Sizes{P50: v[len(v)/2], Max: v[len(v)-1]}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// progress writes one status line a second until ctx ends.
func (s *swarm) progress(ctx context.Context, start time.Time) {
	if s.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev := s.totals()
	prevAt := start
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(s.cfg.Progress)
			return
		case now := <-t.C:
			cur := s.totals()
			var win Histogram
			for _, b := range s.bots {
				b.mu.Lock()
				win.Merge(&b.window)
				b.window.Reset()
				b.mu.Unlock()
			}
			n := float64(max(s.connected.Load(), 1))
			secs := now.Sub(prevAt).Seconds()
			fmt.Fprintf(s.cfg.Progress, "\r%5.0fs  connected %d/%d  snapshots/s per bot %5.1f  down %6.0f B/s  errors %d  input→ack p99 %6.1f ms ",
				now.Sub(start).Seconds(), s.connected.Load(), s.cfg.Bots,
				float64(cur.snapshots-prev.snapshots)/secs/n, float64(cur.bytesIn-prev.bytesIn)/secs/n,
				s.failed.Load(), ms(win.Quantile(0.99)))
			prev, prevAt = cur, now
		}
	}
}

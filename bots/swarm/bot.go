package swarm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// bot is one headless player: a protocol client that plays with its game's
// Brain. Its input loop and the client's read goroutine share the fields
// under mu.
type bot struct {
	id    int
	def   *game.Def
	cheap bool // a load generator: no state decoded, no prediction
	// inputBatch is how many inputs go in one frame (Config.InputBatch);
	// 0 counts as 1.
	inputBatch int

	mu     sync.Mutex // guards the fields below
	conn   *client.Conn
	lean   *leanConn // instead of conn, for a cheap bot on a bare WebSocket
	player game.PlayerID
	newest *game.Table // copy of the newest snapshot's state; nil until one, and for a cheap bot
	ack    uint32      // input ack of the newest snapshot
	tick   uint32      // tick of the newest snapshot
	names  map[game.PlayerID]string
	// pred checks the own player's predictions; nil when the bot does
	// not. Set by joined before the input loop starts; the loop uses its
	// own fields without mu, the read goroutine its records under mu.
	pred   *predictor
	lat    Histogram
	window Histogram // latencies since the last progress line
	checks uint64    // predictions compared with the server
	misses uint64    // of which the server disagreed
	// interactions counts predictions not compared: something the bot
	// could not foresee changed its player.
	interactions uint64
	snaps        uint64 // snapshots received
	fulls        uint64 // of which full ones (no baseline), but the first
	// joinTime is how long the join took; redirected, whether a redirect
	// moved the bot to another server on the way.
	joinTime   time.Duration
	redirected bool
	// snapshotRate and tickRate are the server's (Welcome): how many
	// snapshots a tick span should bring.
	snapshotRate, tickRate uint32
	// Moves (a draining server handed the session to another, issue 16).
	roomID     string    // the room joined
	lastSnapAt time.Time // when the newest snapshot arrived
	moving     bool      // a Move arrived; no snapshot since
	moveIn     uint64    // bytes received when it arrived
	pauses     Histogram // per move: newest snapshot before it to the first after it
	moveBytes  []uint64  // per move: bytes received from the Move to the first snapshot after it, inclusive
	moveSnap   []uint64  // per move: size of that first snapshot
	moveFull   []uint64  // per move: size a full snapshot of the same state would have had (0: not decoded)
	moveFulls  uint64    // moves whose first snapshot was a full one
	enc        netcode.Encoder
	encBuf     []byte
	ackBack    uint64 // acknowledged inputs the server later no longer counted (the input ack went back)
	// Crashes: restores from a checkpoint (a resume at the server that
	// restored the session, with no Move before it), and per restore the
	// acknowledged inputs lost (one per tick: the play lost in ticks).
	restoring   bool   // such a resume happened; no snapshot since
	restoredAt  uint32 // the tick the match was restored at (its checkpoint's)
	restores    uint64
	ticksLost   []uint32
	crashPauses []float64 // seconds from the last snapshot before the crash to the first after the restore
	crashInputs uint64
	ended       string // why the bot's match or session ended before the run did ("" while it plays)
	lost        bool   // its session ended before the run did

	// Owned by the input loop (set by joined before it starts).
	out     sender
	brain   game.Brain
	scene   game.Scene
	move    game.Move
	view    *game.Table // the loop's copy of newest: scene.Newest
	viewAck uint32      // view's input ack
	ackedAt uint32      // newest snapshot tick acknowledged
}

// sender is what a rich bot's input loop needs of its connection: a
// *client.Conn, or a test's fake.
type sender interface {
	SendInput(input []byte, viewTick uint32) (uint32, error)
	Ack() error
	Emit(name string, payload []byte) error
}

func newBot(id int, def *game.Def, seed uint64, cheap bool) *bot {
	return &bot{id: id, def: def, cheap: cheap, brain: def.Brain(seed)}
}

// onSnapshot runs on the client's read goroutine.
func (b *bot) onSnapshot(s *client.Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snaps++
	if s.BaselineAge == 0 && b.snaps > 1 {
		b.fulls++
	}
	now := time.Now()
	if b.moving {
		b.moving = false
		b.pauses.Add(now.Sub(b.lastSnapAt))
		if b.conn != nil {
			b.moveBytes = append(b.moveBytes, b.conn.Stats().BytesIn-b.moveIn)
		}
		b.moveSnap = append(b.moveSnap, uint64(s.Bytes))
		if s.BaselineAge == 0 {
			b.moveFulls++
		}
		var full uint64
		if s.State != nil {
			b.encBuf = b.enc.Append(b.encBuf[:0], nil, nil, s.State, nil)
			full = uint64(len(netcode.AppendSnapshotFrame(nil, s.Tick, 0, s.InputAck, b.encBuf)))
		}
		b.moveFull = append(b.moveFull, full)
	}
	switch {
	case b.restoring:
		// The first snapshot of a match its server's crash sent back to a
		// checkpoint: what went back is counted apart.
		b.restoring = false
		b.restores++
		if s.InputAck < b.ack {
			b.crashInputs += uint64(b.ack - s.InputAck)
		}
		lost := uint32(0)
		if b.restoredAt != 0 && b.tick > b.restoredAt {
			lost = b.tick - b.restoredAt // what the dead server played past the checkpoint
		}
		b.ticksLost = append(b.ticksLost, lost)
		b.crashPauses = append(b.crashPauses, now.Sub(b.lastSnapAt).Seconds())
	case s.InputAck < b.ack:
		b.ackBack += uint64(b.ack - s.InputAck)
	}
	b.lastSnapAt = now
	b.ack, b.tick = s.InputAck, s.Tick
	if s.State == nil { // cheap: nothing decoded, only acknowledged
		return
	}
	if b.newest == nil {
		b.newest = game.NewTable(s.State.Schema)
	}
	b.newest.CopyFrom(s.State)
	if b.pred != nil {
		switch b.pred.check(s.State, s.InputAck) {
		case agreed:
			b.checks++
		case missed:
			b.checks++
			b.misses++
		case interaction:
			b.interactions++
		}
	}
}

// onMove runs on the client's read goroutine when the server hands the
// session to another one.
func (b *bot) onMove(*sessionpb.Move) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && !b.moving {
		b.moving, b.moveIn = true, b.conn.Stats().BytesIn
	}
}

// onResume runs on the client's read goroutine after a resume.
func (b *bot) onResume(r client.Resume) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Moved && !b.moving {
		// Moved without a Move on its connection: its server died, and
		// another restored the match at r.Tick.
		b.restoring, b.restoredAt = true, r.Tick
	}
}

// onError notes the end of the bot's match (the room closed, as on a
// drain without hand-off).
func (b *bot) onError(e *netcode.Error) {
	if e.Code == sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED || e.Fatal {
		b.mu.Lock()
		if b.ended == "" {
			b.ended = e.Code.String()
		}
		b.mu.Unlock()
	}
}

func (b *bot) onInputAck(d time.Duration) {
	b.mu.Lock()
	b.lat.Add(d)
	b.window.Add(d)
	b.mu.Unlock()
}

func (b *bot) onRoster(r *sessionpb.Roster) {
	names := make(map[game.PlayerID]string, len(r.GetPlayers()))
	for _, p := range r.GetPlayers() {
		names[game.PlayerID(p.GetId())] = p.GetName()
	}
	b.mu.Lock()
	b.names = names // never changed once published: the input loop reads it unlocked
	b.mu.Unlock()
}

// joined checks that the room plays the bot's game and prepares the input
// loop: the game's client rules from Joined.describe and, for a bot that
// decodes state, the prediction check. out is where the loop sends.
func (b *bot) joined(j *sessionpb.Joined, out sender) error {
	if j.GetGame() != b.def.Name {
		return fmt.Errorf("joined a room of %q, not %q", j.GetGame(), b.def.Name)
	}
	var cl game.Client
	if b.def.Client != nil {
		var err error
		if cl, err = b.def.Client(j.GetDescribe()); err != nil {
			return fmt.Errorf("the room's describe: %w", err)
		}
	}
	self := game.PlayerID(j.GetPlayerId())
	var pred *predictor
	if !b.cheap {
		schema, err := netcode.SchemaFromProto(j.GetSchema())
		if err != nil {
			return err
		}
		if !schema.Equal(b.def.Schema) {
			return fmt.Errorf("the server's schema of %s differs from this build's", b.def.Name)
		}
		pred = newPredictor(cl, b.def.Schema, self)
	}
	b.mu.Lock()
	b.player, b.pred = self, pred
	b.mu.Unlock()
	b.out = out
	b.scene = game.Scene{Game: b.def.Name, Describe: j.GetDescribe(), Client: cl, Self: self}
	return nil
}

// step is one tick of the input loop: the brain decides on the newest
// snapshot, and the bot sends its move. A game with TickInputs gets an
// input every tick (empty ones too), with the newest snapshot's tick as
// its view tick; another game gets one only when the brain made one, and
// otherwise an acknowledgement when a snapshot arrived since the last.
func (b *bot) step() error {
	b.mu.Lock()
	tick, ack := b.tick, b.ack
	fresh := b.newest != nil && (b.view == nil || b.view.Tick != b.newest.Tick)
	if fresh {
		if b.view == nil {
			b.view = game.NewTable(b.newest.Schema)
		}
		b.view.CopyFrom(b.newest)
		b.viewAck = ack
	}
	b.scene.Names = b.names
	b.mu.Unlock()

	s := &b.scene
	s.Ready = b.view != nil
	if s.Ready {
		s.Newest, s.Shown = b.view, b.view // a bot draws nothing: others are where the snapshot has them
		s.RenderTick = float64(b.view.Tick)
	}
	p := b.pred
	if p != nil && fresh {
		p.rebase(b.view, b.viewAck)
	}
	if p != nil && p.valid {
		s.Predicted, s.PredictedTick = p.table, float64(p.tickOf(p.lastSeq))
	} else {
		s.Predicted, s.PredictedTick = nil, 0
	}

	b.move.Reset()
	b.brain.Act(s, &b.move)

	if b.def.TickInputs || len(b.move.Input) > 0 {
		viewTick := tick // the bot looks at the newest snapshot: lag compensation judges its shots there
		if b.cheap {
			viewTick = 0
		}
		seq, err := b.out.SendInput(b.move.Input, viewTick)
		if err != nil {
			return err
		}
		b.ackedAt = tick // an input batch carries the acknowledgement
		if p != nil {
			if row := p.sentInput(seq, b.move.Input); row != nil {
				b.mu.Lock()
				p.record(seq, row)
				b.mu.Unlock()
			}
		}
	} else if tick > b.ackedAt {
		if err := b.out.Ack(); err != nil {
			return err
		}
		b.ackedAt = tick
	}
	for _, e := range b.move.Events {
		if err := b.out.Emit(e.Name, e.Payload); err != nil {
			return err
		}
	}
	return nil
}

// play runs the input loop at the server's tick rate until ctx ends.
func (b *bot) play(ctx context.Context, tickRate int) error {
	period := time.Second / time.Duration(tickRate)
	start := time.Now()
	timer := time.NewTimer(period)
	defer timer.Stop()
	for n := 1; ; n++ {
		// A bot starved of CPU does not burst its missed inputs (the room
		// would queue them as latency): past two late ticks it skips ahead,
		// like the room's own catch-up rule and like a client that froze.
		if late := time.Since(start.Add(time.Duration(n) * period)); late > 2*period {
			n += int(late / period)
		}
		timer.Reset(time.Until(start.Add(time.Duration(n) * period)))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-b.conn.Done():
			return b.conn.Err()
		}
		if err := b.step(); err != nil {
			return err
		}
	}
}

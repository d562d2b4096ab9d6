package swarm

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// bot is one headless player: a protocol client with a simple AI. Its
// input loop and the client's read goroutine share the fields under mu.
type bot struct {
	id    int
	rng   *rand.Rand // owned by the input loop
	cheap bool       // a load generator: no state decoded, no aim, no prediction

	mu       sync.Mutex // guards the fields below
	conn     *client.Conn
	lean     *leanConn // instead of conn, for a cheap bot
	world    sim.Config
	player   sim.PlayerID
	self     sim.Player
	selfOK   bool
	ack      uint32      // input ack of the newest snapshot
	tick     uint32      // tick of the newest snapshot: what the bot aims at
	enemies  []sim.Point // living opponents in the newest snapshot
	sent     [128]sim.Input
	predicts [128]prediction
	lat      Histogram
	window   Histogram // latencies since the last progress line
	checks   uint64    // predictions compared with the server
	misses   uint64    // of which the server disagreed
	snaps    uint64    // snapshots received
	// joinTime is how long the join took; redirected, whether a redirect
	// moved the bot to another server on the way.
	joinTime   time.Duration
	redirected bool

	// Owned by the input loop.
	move      sim.Buttons
	moveUntil int
	aim       uint16
}

// prediction is where the bot expected its player after input seq.
type prediction struct {
	seq    uint32
	x, y   int32
	deaths uint32
}

// directions a bot picks from; the zero entry stands still.
var directions = []sim.Buttons{
	0, sim.ButtonUp, sim.ButtonDown, sim.ButtonLeft, sim.ButtonRight,
	sim.ButtonUp | sim.ButtonLeft, sim.ButtonUp | sim.ButtonRight,
	sim.ButtonDown | sim.ButtonLeft, sim.ButtonDown | sim.ButtonRight,
}

// onSnapshot runs on the client's read goroutine.
func (b *bot) onSnapshot(s *client.Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snaps++
	if s.State == nil { // cheap: nothing decoded, only acknowledged
		b.ack, b.tick = s.InputAck, s.Tick
		return
	}
	b.enemies = b.enemies[:0]
	b.selfOK = false
	for i := range s.State.Players {
		p := &s.State.Players[i]
		if p.ID == b.player {
			b.self, b.selfOK = *p, true
			continue
		}
		if p.Alive() {
			b.enemies = append(b.enemies, sim.Point{X: p.X, Y: p.Y})
		}
	}
	b.ack = s.InputAck
	b.tick = s.Tick
	// Compare with what the bot predicted for the input just acknowledged:
	// with no collisions between players, only a death, a respawn or a
	// late input (which the server replaces by the previous one) can make
	// the server disagree.
	if pr := b.predicts[s.InputAck%128]; b.selfOK && pr.seq == s.InputAck && s.InputAck != 0 &&
		b.self.Alive() && b.self.Deaths == pr.deaths {
		b.checks++
		if pr.x != b.self.X || pr.y != b.self.Y {
			b.misses++
		}
	}
}

func (b *bot) onInputAck(d time.Duration) {
	b.mu.Lock()
	b.lat.Add(d)
	b.window.Add(d)
	b.mu.Unlock()
}

// decide picks this tick's input: change direction about every half
// second, aim at the nearest living opponent, fire about twice a second
// when there is one. A cheap bot, which sees no state, sweeps its aim and
// fires about twice a second regardless.
func (b *bot) decide(tick int, tickRate int) sim.Input {
	if tick >= b.moveUntil {
		b.move = directions[b.rng.IntN(len(directions))]
		b.moveUntil = tick + tickRate/4 + b.rng.IntN(tickRate/2+1)
	}
	if b.cheap {
		b.aim = uint16((int(b.aim) + b.rng.IntN(9) - 4 + sim.AimSteps) % sim.AimSteps)
		in := sim.Input{Buttons: b.move, Aim: b.aim}
		if b.rng.IntN(tickRate) < 2 {
			in.Buttons |= sim.ButtonFire
		}
		return in
	}
	b.mu.Lock()
	self, ok, seen := b.self, b.selfOK, b.tick
	var target sim.Point
	best := int64(math.MaxInt64)
	for _, e := range b.enemies {
		dx, dy := int64(e.X-self.X), int64(e.Y-self.Y)
		if d := dx*dx + dy*dy; d < best {
			best, target = d, e
		}
	}
	b.mu.Unlock()
	// The bot aims at the newest snapshot's positions: that is its view
	// tick, against which the server judges its shots (lag compensation).
	in := sim.Input{Buttons: b.move, ViewTick: seen}
	if ok && best != math.MaxInt64 {
		angle := math.Atan2(float64(target.Y-self.Y), float64(target.X-self.X))
		b.aim = uint16(int(math.Round(angle/(2*math.Pi)*sim.AimSteps)+sim.AimSteps) % sim.AimSteps)
		if b.rng.IntN(tickRate) < 2 {
			in.Buttons |= sim.ButtonFire
		}
	}
	in.Aim = b.aim
	return in
}

// send sends in and records where the bot expects its player once the
// server applies it: the newest server position plus every input the server
// has not acknowledged yet, replayed with the game's own movement code.
func (b *bot) send(in sim.Input) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	seq, err := b.conn.SendInput(in)
	if err != nil {
		return err
	}
	b.sent[seq%128] = in
	if b.cheap || !b.selfOK || !b.self.Alive() || seq-b.ack >= 100 {
		return nil
	}
	p := b.self
	for s := b.ack + 1; s <= seq; s++ {
		b.world.MovePlayer(&p, b.sent[s%128])
	}
	b.predicts[seq%128] = prediction{seq: seq, x: p.X, y: p.Y, deaths: p.Deaths}
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
		if err := b.send(b.decide(n, tickRate)); err != nil {
			return err
		}
	}
}

// joined records the room's rules and the bot's player id.
func (b *bot) joined(j *sessionpb.Joined) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.world = netcode.SimConfig(j.GetArena())
	b.player = sim.PlayerID(j.GetPlayerId())
}

package core

import "github.com/arenaserver/arena/games/arena/sim"

// predLogSize is how many sent inputs the predictor remembers; more than the
// protocol client keeps unacknowledged (128), so a replay never lacks one.
const predLogSize = 256

// predEntry is one sent input and where the predictor expects the player
// once the server has applied it.
type predEntry struct {
	seq    uint32
	in     sim.Input
	x, y   int32
	alive  bool
	deaths uint32
}

// predictor runs client-side prediction and reconciliation of the own
// player. It is pure: no clock, no network. Owned by the game goroutine.
//
// Each input sent is applied at once with the game's own movement code
// (sim.Config.MovePlayer). Each snapshot rewinds to the server's state of
// the player and replays every input the server has not applied yet
// (sequence numbers above the snapshot's input_ack). When the server's
// position differs from what was predicted for input_ack, that is a
// correction: with nobody else touching the player it should never happen.
type predictor struct {
	cfg  *sim.Config
	self sim.PlayerID

	log     [predLogSize]predEntry
	lastSeq uint32 // newest input sent

	// The newest snapshot's view of the player.
	baseOK   bool
	base     sim.Player
	baseTick uint32
	ack      uint32

	// pred is the player after every input sent; predProj are its shots
	// that the newest snapshot cannot contain yet (fired by pending inputs).
	pred     sim.Player
	predOK   bool
	predProj []sim.Projectile

	// offX, offY is the visual error still being smoothed away after a
	// correction, fixed-point units; display = pred + off.
	offX, offY float64

	checks      uint64 // predictions compared with the server
	corrections uint64 // of which the server disagreed
}

func newPredictor(cfg *sim.Config, self sim.PlayerID) *predictor {
	return &predictor{cfg: cfg, self: self}
}

// sent records input seq and advances the prediction by it.
func (p *predictor) sent(seq uint32, in sim.Input) {
	p.lastSeq = seq
	e := &p.log[seq%predLogSize]
	*e = predEntry{seq: seq, in: in}
	if !p.predOK {
		return
	}
	p.apply(&p.pred, in, p.baseTick+(seq-p.ack), &p.predProj)
	e.x, e.y, e.alive, e.deaths = p.pred.X, p.pred.Y, p.pred.Alive(), p.pred.Deaths
}

// apply runs one input on pl as the server's Step will at tick: movement,
// then a shot when the fire rule allows it (appended to shots).
func (p *predictor) apply(pl *sim.Player, in sim.Input, tick uint32, shots *[]sim.Projectile) {
	if !pl.Alive() {
		return // the dead neither move nor turn; respawns come from the server
	}
	p.cfg.MovePlayer(pl, in)
	if in.Buttons&sim.ButtonFire != 0 && tick >= pl.NextFire {
		pl.NextFire = tick + p.cfg.Rules.FireInterval
		*shots = append(*shots, sim.Projectile{Owner: pl.ID, SpawnTick: tick, X: pl.X, Y: pl.Y, Aim: pl.Aim})
	}
}

// snapshot reconciles with the server's state of the player (nil when the
// snapshot does not hold it) at tick, having applied inputs up to ack. It
// reports whether this snapshot was a correction.
func (p *predictor) snapshot(tick, ack uint32, self *sim.Player) bool {
	if self == nil {
		p.baseOK, p.predOK = false, false
		p.predProj = p.predProj[:0]
		return false
	}
	corrected := false
	if e := &p.log[ack%predLogSize]; ack != 0 && e.seq == ack && e.alive && self.Alive() && e.deaths == self.Deaths && p.predOK {
		p.checks++
		if e.x != self.X || e.y != self.Y {
			p.corrections++
			corrected = true
		}
	}
	oldX, oldY, oldOK := p.pred.X, p.pred.Y, p.predOK
	p.baseOK, p.base, p.baseTick, p.ack = true, *self, tick, ack
	p.pred, p.predOK = *self, true
	p.predProj = p.predProj[:0]
	if p.lastSeq > ack && p.lastSeq-ack < predLogSize {
		for seq := ack + 1; seq <= p.lastSeq; seq++ {
			e := &p.log[seq%predLogSize]
			if e.seq != seq {
				break
			}
			p.apply(&p.pred, e.in, tick+(seq-ack), &p.predProj)
			e.x, e.y, e.alive, e.deaths = p.pred.X, p.pred.Y, p.pred.Alive(), p.pred.Deaths
		}
	}
	// Smooth a small correction away instead of snapping; a big jump (a
	// respawn, a teleport) is shown at once.
	if oldOK && (oldX != p.pred.X || oldY != p.pred.Y) {
		dx, dy := float64(oldX-p.pred.X)+p.offX, float64(oldY-p.pred.Y)+p.offY
		limit := float64(8 * p.cfg.Rules.PlayerHalf)
		if corrected && dx*dx+dy*dy < limit*limit {
			p.offX, p.offY = dx, dy
		} else if !corrected {
			// Not a disagreement: the base moved as predicted, nothing to hide.
		} else {
			p.offX, p.offY = 0, 0
		}
	}
	return corrected
}

// decay shrinks the smoothing offset: about 90 % of it goes in 100 ms.
func (p *predictor) decay(dt float64) {
	k := 1 - min(dt*23, 1) // e^(-23·0.1) ≈ 0.1
	p.offX *= k
	p.offY *= k
	if p.offX*p.offX+p.offY*p.offY < 1 {
		p.offX, p.offY = 0, 0
	}
}

// pending is how many sent inputs the newest snapshot has not applied.
func (p *predictor) pending() uint32 {
	if p.lastSeq < p.ack {
		return 0
	}
	return p.lastSeq - p.ack
}

package arena

import (
	"math"
	"math/rand/v2"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
)

// brain is a bot player: it changes direction about every half second,
// aims at the nearest living opponent in the newest snapshot and fires
// about twice a second when there is one. A cheap bot, which sees no
// state, sweeps its aim and fires about twice a second regardless.
type brain struct {
	rng       *rand.Rand
	tick      int
	move      sim.Buttons
	moveUntil int
	aim       uint16
}

func newBrain(seed uint64) game.Brain {
	return &brain{rng: rand.New(rand.NewPCG(seed, 0xa7e4a))}
}

// directions a bot picks from; the zero entry stands still.
var directions = []sim.Buttons{
	0, sim.ButtonUp, sim.ButtonDown, sim.ButtonLeft, sim.ButtonRight,
	sim.ButtonUp | sim.ButtonLeft, sim.ButtonUp | sim.ButtonRight,
	sim.ButtonDown | sim.ButtonLeft, sim.ButtonDown | sim.ButtonRight,
}

// tickRate is what the brain assumes when the scene does not say (a cheap
// bot has no Client): the default 60 Hz.
const tickRate = 60

func (b *brain) Act(s *game.Scene, m *game.Move) {
	b.tick++
	rate := tickRate
	if c, ok := s.Client.(*Client); ok && c.Config.Rules.TickRate > 0 {
		rate = int(c.Config.Rules.TickRate)
	}
	if b.tick >= b.moveUntil {
		b.move = directions[b.rng.IntN(len(directions))]
		b.moveUntil = b.tick + rate/4 + b.rng.IntN(rate/2+1)
	}
	buttons := b.move
	if !s.Ready || s.Newest == nil {
		b.aim = uint16((int(b.aim) + b.rng.IntN(9) - 4 + sim.AimSteps) % sim.AimSteps)
		if b.rng.IntN(rate) < 2 {
			buttons |= sim.ButtonFire
		}
		m.Input = AppendInput(m.Input, buttons, b.aim)
		return
	}
	t := s.Newest
	self := t.Get(KindPlayer, uint32(s.Self))
	if self != nil {
		best := int64(math.MaxInt64)
		var tx, ty int64
		for i := range t.Len(KindPlayer) {
			row := t.Row(KindPlayer, i)
			if t.ID(KindPlayer, i) == uint32(s.Self) || row[PHealth] == 0 {
				continue
			}
			dx, dy := row[PX]-self[PX], row[PY]-self[PY]
			if d := dx*dx + dy*dy; d < best {
				best, tx, ty = d, dx, dy
			}
		}
		if best != math.MaxInt64 {
			angle := math.Atan2(float64(ty), float64(tx))
			b.aim = uint16(int(math.Round(angle/(2*math.Pi)*sim.AimSteps)+sim.AimSteps) % sim.AimSteps)
			if b.rng.IntN(rate) < 2 {
				buttons |= sim.ButtonFire
			}
		}
	}
	m.Input = AppendInput(m.Input, buttons, b.aim)
}

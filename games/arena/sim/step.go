package sim

// EventKind says what an Event reports.
type EventKind uint8

const (
	EventHit  EventKind = iota + 1 // Subject hit Object
	EventKill                      // Subject killed Object
	EventFire                      // Subject fired projectile Projectile
)

// Event is something that happened during the last Step. Events are derived
// data (the state already holds their effects); they are handy for logs,
// metrics and sounds.
type Event struct {
	Kind       EventKind
	Subject    PlayerID
	Object     PlayerID
	Projectile uint32
}

// Events returns what happened during the last Step. The slice is reused by
// the next Step.
func (w *World) Events() []Event { return w.events }

// Step advances the world by one tick: dead players whose time has come
// respawn, living players move, aim and fire by their In, then every
// projectile flies and hits the first wall or player in its way.
func (w *World) Step() {
	w.Tick++
	w.events = w.events[:0]
	for i := range w.Players {
		p := &w.Players[i]
		if !p.Alive() {
			if p.RespawnTick != 0 && w.Tick >= p.RespawnTick {
				w.spawn(p)
			}
			continue
		}
		if w.Act(p, p.In, w.Tick) {
			w.Projectiles = append(w.Projectiles, Projectile{
				ID: w.NextProjectile, Owner: p.ID, SpawnTick: w.Tick, X: p.X, Y: p.Y, Aim: p.Aim,
				Rewind: w.rewind(p.In.ViewTick),
			})
			w.events = append(w.events, Event{Kind: EventFire, Subject: p.ID, Projectile: w.NextProjectile})
			w.NextProjectile++
		}
	}
	w.stepProjectiles()
	w.remember()
}

// Act applies one tick of a living player's input at tick: movement and
// aim, then the fire rule. It reports whether the player fires (Step then
// spawns the projectile). It is the step code a client runs to predict
// its own player.
func (c *Config) Act(p *Player, in Input, tick uint32) (fires bool) {
	c.MovePlayer(p, in)
	if in.Buttons&ButtonFire != 0 && tick >= p.NextFire {
		p.NextFire = tick + c.Rules.FireInterval
		return true
	}
	return false
}

// rewind is the lag compensation of a shot fired now by a player who saw
// the world of viewTick: the ticks since, at most MaxRewind.
func (w *World) rewind(viewTick uint32) uint32 {
	if viewTick == 0 || viewTick >= w.Tick {
		return 0
	}
	return min(w.Tick-viewTick, w.Rules.MaxRewind)
}

// remember records where every player is at the end of this tick, in a ring
// of MaxRewind+1 ticks whose slices are reused (no allocation once the
// ring has grown to the number of players).
func (w *World) remember() {
	n := int(w.Rules.MaxRewind) + 1
	if n <= 1 {
		return
	}
	if len(w.past) != n {
		w.past = make([]pastTick, n)
	}
	slot := &w.past[w.Tick%uint32(n)]
	slot.tick = w.Tick
	slot.players = slot.players[:0]
	for i := range w.Players {
		p := &w.Players[i]
		slot.players = append(slot.players, pastPlayer{id: p.ID, x: p.X, y: p.Y, alive: p.Alive()})
	}
}

// pastAt returns the players as they were at the end of tick, or nil when
// that tick is not remembered.
func (w *World) pastAt(tick uint32) []pastPlayer {
	if len(w.past) == 0 {
		return nil
	}
	slot := &w.past[tick%uint32(len(w.past))]
	if slot.tick != tick || tick == 0 {
		return nil
	}
	return slot.players
}

// MovePlayer applies one tick of in's movement and aim to p: eight
// directions at a fixed speed, sliding along walls, clamped to the arena.
// It is the function a client runs to predict its own player.
func (c *Config) MovePlayer(p *Player, in Input) {
	p.Aim = in.Aim % AimSteps
	var dx, dy int32
	if in.Buttons&ButtonLeft != 0 {
		dx--
	}
	if in.Buttons&ButtonRight != 0 {
		dx++
	}
	if in.Buttons&ButtonUp != 0 {
		dy--
	}
	if in.Buttons&ButtonDown != 0 {
		dy++
	}
	speed := c.Rules.PlayerSpeed
	if dx != 0 && dy != 0 {
		speed = c.Rules.PlayerDiagonal
	}
	h := c.Rules.PlayerHalf
	if dx != 0 {
		x := clamp(p.X+dx*speed, h, c.Arena.Width-h)
		for _, r := range c.Arena.Walls {
			if overlaps(x, p.Y, h, r) {
				if dx > 0 {
					x = r.X - h
				} else {
					x = r.X + r.W + h
				}
			}
		}
		p.X = x
	}
	if dy != 0 {
		y := clamp(p.Y+dy*speed, h, c.Arena.Height-h)
		for _, r := range c.Arena.Walls {
			if overlaps(p.X, y, h, r) {
				if dy > 0 {
					y = r.Y - h
				} else {
					y = r.Y + r.H + h
				}
			}
		}
		p.Y = y
	}
}

// overlaps reports whether the square of half side h centred on x, y
// overlaps r.
func overlaps(x, y, h int32, r Rect) bool {
	return x-h < r.X+r.W && x+h > r.X && y-h < r.Y+r.H && y+h > r.Y
}

func clamp(v, lo, hi int32) int32 { return min(max(v, lo), hi) }

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// ProjectilePos returns where pr is at tick: its origin plus age·speed along
// its aim, in fixed-point with the products floored (arithmetic shift by 14).
func (c *Config) ProjectilePos(pr *Projectile, tick uint32) (x, y int32) {
	age := int64(tick - pr.SpawnTick)
	dx, dy := Dir(pr.Aim)
	step := int64(c.Rules.ProjectileSpeed) * age
	return pr.X + int32((int64(dx)*step)>>14), pr.Y + int32((int64(dy)*step)>>14)
}

// stepProjectiles moves every projectile to this tick and applies its hit.
// A projectile with a Rewind is tested against where the players were
// Rewind ticks ago (lag compensation): a target must be alive now and have
// been alive then, at a position within reach. When that tick is not
// remembered (the match just started) the present is used.
func (w *World) stepProjectiles() {
	keep := w.Projectiles[:0]
	reach := w.Rules.PlayerHalf + w.Rules.ProjectileRadius
	for _, pr := range w.Projectiles {
		if w.Tick-pr.SpawnTick > w.Rules.ProjectileLife {
			continue
		}
		x, y := w.ProjectilePos(&pr, w.Tick)
		if x < 0 || y < 0 || x >= w.Arena.Width || y >= w.Arena.Height || w.inWall(x, y) {
			continue
		}
		var past []pastPlayer
		if pr.Rewind > 0 {
			past = w.pastAt(w.Tick - pr.Rewind)
		}
		hit := false
		j := 0 // walks past in step with w.Players; both are sorted by id
		for i := range w.Players {
			p := &w.Players[i]
			if p.ID == pr.Owner || !p.Alive() {
				continue
			}
			px, py := p.X, p.Y
			if past != nil {
				for j < len(past) && past[j].id < p.ID {
					j++
				}
				if j == len(past) || past[j].id != p.ID || !past[j].alive {
					continue // not there, or dead, in the world the shooter saw
				}
				px, py = past[j].x, past[j].y
			}
			if abs(x-px) > reach || abs(y-py) > reach {
				continue
			}
			w.damage(p, pr.Owner)
			hit = true
			break
		}
		if !hit {
			keep = append(keep, pr)
		}
	}
	clear(w.Projectiles[len(keep):])
	w.Projectiles = keep
}

func (w *World) inWall(x, y int32) bool {
	for _, r := range w.Arena.Walls {
		if r.Contains(x, y) {
			return true
		}
	}
	return false
}

func (w *World) damage(p *Player, by PlayerID) {
	w.events = append(w.events, Event{Kind: EventHit, Subject: by, Object: p.ID})
	if p.Health > w.Rules.Damage {
		p.Health -= w.Rules.Damage
		return
	}
	p.Health = 0
	p.Deaths++
	p.KilledBy = by
	p.RespawnTick = w.Tick + w.Rules.RespawnDelay
	if killer := w.Player(by); killer != nil && killer != p {
		killer.Kills++
	}
	w.events = append(w.events, Event{Kind: EventKill, Subject: by, Object: p.ID})
}

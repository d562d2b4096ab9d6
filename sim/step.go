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
		w.MovePlayer(p, p.In)
		if p.In.Buttons&ButtonFire != 0 && w.Tick >= p.NextFire {
			p.NextFire = w.Tick + w.Rules.FireInterval
			w.Projectiles = append(w.Projectiles, Projectile{
				ID: w.NextProjectile, Owner: p.ID, SpawnTick: w.Tick, X: p.X, Y: p.Y, Aim: p.Aim,
			})
			w.events = append(w.events, Event{Kind: EventFire, Subject: p.ID, Projectile: w.NextProjectile})
			w.NextProjectile++
		}
	}
	w.stepProjectiles()
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
		hit := false
		for i := range w.Players {
			p := &w.Players[i]
			if p.ID == pr.Owner || !p.Alive() || abs(x-p.X) > reach || abs(y-p.Y) > reach {
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

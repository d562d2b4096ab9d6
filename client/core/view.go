package core

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/arenaserver/arena/games/arena/sim"
)

// RoomInfo is one room of the server's list.
type RoomInfo struct {
	ID                string
	Players, Capacity int
}

// Kill is one entry of the kill feed.
type Kill struct {
	Killer, Victim         sim.PlayerID
	KillerName, VictimName string
	At                     time.Time // when the snapshot that showed it arrived
}

// PlayerView is a player as it should be drawn. Positions are fixed-point
// units (sim.Scale per world unit), fractional because they are
// interpolated.
type PlayerView struct {
	ID                sim.PlayerID
	Name              string
	X, Y              float64
	Aim               float64 // 0..sim.AimSteps
	Health, MaxHealth int
	Alive             bool
	Kills, Deaths     uint32
	Self              bool
}

// ProjectileView is a projectile as it should be drawn.
type ProjectileView struct {
	ID        uint32
	Owner     sim.PlayerID
	X, Y      float64 // fixed-point units
	Own       bool    // fired by the own player (drawn at the predicted time)
	Predicted bool    // fired by an input the server has not applied yet
}

// Score is one line of the scoreboard.
type Score struct {
	ID            sim.PlayerID
	Name          string
	Kills, Deaths uint32
	Self          bool
}

// View is everything a renderer draws for one frame. Update rebuilds it;
// it belongs to the game loop and its slices are reused by the next Update.
type View struct {
	Phase  Phase
	Status string
	Name   string
	Busy   bool       // a lobby action is in flight
	Rooms  []RoomInfo // from the last ListRooms
	RoomID string     // the room played or watched
	// Arena and Rules describe the room; Arena is nil outside a room.
	Arena *sim.Arena
	Rules sim.Rules
	// Ready is true once there is a state to draw.
	Ready       bool
	Self        sim.PlayerID // 0 for a spectator
	Players     []PlayerView // sorted by id; the own one has Self set
	Projectiles []ProjectileView
	Scores      []Score // most kills first
	KillFeed    []Kill  // oldest first, the last few seconds
	Net         *NetStats
	// RenderTick is the (fractional) server tick others are drawn at;
	// PredictedTick the one the own player and its shots are drawn at.
	RenderTick, PredictedTick float64
}

// View returns the frame's view. The pointer stays valid; its content
// changes at each Update.
func (s *Session) View() *View { return &s.view }

// killFeedAge is how long a kill stays in the feed.
const killFeedAge = 6 * time.Second

func (s *Session) buildView(now time.Time) {
	v := &s.view
	v.Phase, v.Status, v.Name, v.Busy = s.phase, s.status, s.name, s.busy.Load()
	v.Rooms = append(v.Rooms[:0], s.rooms...)
	v.Net = &s.net
	v.Players, v.Projectiles, v.Scores, v.KillFeed = v.Players[:0], v.Projectiles[:0], v.Scores[:0], v.KillFeed[:0]
	v.Arena, v.Ready, v.Self, v.RoomID = nil, false, 0, ""
	if s.joined == nil {
		return
	}
	v.RoomID = s.joined.GetRoom().GetId()
	v.Arena, v.Rules, v.Self = &s.simCfg.Arena, s.simCfg.Rules, s.self
	for _, k := range s.killFeed {
		if now.Sub(k.At) < killFeedAge {
			v.KillFeed = append(v.KillFeed, k)
		}
	}
	if s.tl == nil || s.tl.n == 0 || !s.haveNewest {
		return
	}
	v.Ready = true
	a, b, alpha := s.tl.bracket()
	v.RenderTick = s.tl.render
	maxHealth := int(s.simCfg.Rules.MaxHealth)

	// Others, interpolated between the two states around the render tick;
	// health and scores from the newest state.
	for i := range b.Players {
		pb := &b.Players[i]
		if pb.ID == s.self && s.phase == PhasePlaying {
			continue
		}
		pv := PlayerView{ID: pb.ID, Name: s.nameOf(pb.ID), X: float64(pb.X), Y: float64(pb.Y), Aim: float64(pb.Aim), MaxHealth: maxHealth}
		if pa := a.Player(pb.ID); pa != nil && pa != pb {
			if respawned(pa, pb) {
				if alpha < 1 {
					pv.X, pv.Y, pv.Aim = float64(pa.X), float64(pa.Y), float64(pa.Aim)
				}
			} else {
				pv.X = lerp(float64(pa.X), float64(pb.X), alpha)
				pv.Y = lerp(float64(pa.Y), float64(pb.Y), alpha)
				pv.Aim = lerpAim(float64(pa.Aim), float64(pb.Aim), alpha)
			}
		}
		src := pb
		if n := s.newest.Player(pb.ID); n != nil {
			src = n
		}
		pv.Health, pv.Alive, pv.Kills, pv.Deaths = int(src.Health), src.Alive(), src.Kills, src.Deaths
		v.Players = append(v.Players, pv)
	}

	// The own player, predicted.
	if s.phase == PhasePlaying {
		if n := s.newest.Player(s.self); n != nil {
			pv := PlayerView{ID: s.self, Name: s.nameOf(s.self), Self: true, MaxHealth: maxHealth,
				X: float64(n.X), Y: float64(n.Y), Aim: float64(n.Aim),
				Health: int(n.Health), Alive: n.Alive(), Kills: n.Kills, Deaths: n.Deaths}
			if s.pred.predOK {
				p := &s.pred.pred
				pv.X, pv.Y, pv.Aim = float64(p.X)+s.pred.offX, float64(p.Y)+s.pred.offY, float64(p.Aim)
			}
			v.Players = append(v.Players, pv)
		}
		slices.SortFunc(v.Players, func(x, y PlayerView) int { return cmp.Compare(x.ID, y.ID) })
	}

	// Shots of others at the render tick; own shots at the predicted tick.
	r := s.tl.render
	for i := range a.Projectiles {
		pr := &a.Projectiles[i]
		if pr.Owner == s.self && s.phase == PhasePlaying {
			continue
		}
		if !containsProjectile(b, pr.ID) && !s.flying(pr, r) {
			continue // removed between a and b, and by now it has hit
		}
		x, y := s.projectileAt(pr, r)
		v.Projectiles = append(v.Projectiles, ProjectileView{ID: pr.ID, Owner: pr.Owner, X: x, Y: y})
	}
	for i := range b.Projectiles {
		pr := &b.Projectiles[i]
		if (pr.Owner == s.self && s.phase == PhasePlaying) || float64(pr.SpawnTick) > r || containsProjectile(a, pr.ID) {
			continue
		}
		x, y := s.projectileAt(pr, r)
		v.Projectiles = append(v.Projectiles, ProjectileView{ID: pr.ID, Owner: pr.Owner, X: x, Y: y})
	}
	v.PredictedTick = r
	if s.phase == PhasePlaying && s.pred.baseOK {
		pt := float64(s.pred.baseTick + s.pred.pending())
		v.PredictedTick = pt
		for i := range s.newest.Projectiles {
			if pr := &s.newest.Projectiles[i]; pr.Owner == s.self {
				s.addOwnShot(v, pr, pt, false)
			}
		}
		for i := range s.pred.predProj {
			s.addOwnShot(v, &s.pred.predProj[i], pt, true)
		}
	}

	// Scoreboard from the newest state.
	for i := range s.newest.Players {
		p := &s.newest.Players[i]
		v.Scores = append(v.Scores, Score{ID: p.ID, Name: s.nameOf(p.ID), Kills: p.Kills, Deaths: p.Deaths, Self: p.ID == s.self})
	}
	slices.SortFunc(v.Scores, func(x, y Score) int {
		return cmp.Or(cmp.Compare(y.Kills, x.Kills), cmp.Compare(x.Deaths, y.Deaths), cmp.Compare(x.ID, y.ID))
	})
}

// addOwnShot draws an own projectile at the predicted tick unless it has
// expired, left the arena, hit a wall or reached another player as drawn.
func (s *Session) addOwnShot(v *View, pr *sim.Projectile, tick float64, predicted bool) {
	if !s.flying(pr, tick) {
		return
	}
	x, y := s.projectileAt(pr, tick)
	reach := float64(s.simCfg.Rules.PlayerHalf + s.simCfg.Rules.ProjectileRadius)
	for _, p := range v.Players {
		if !p.Self && p.Alive && math.Abs(p.X-x) <= reach && math.Abs(p.Y-y) <= reach {
			return
		}
	}
	v.Projectiles = append(v.Projectiles, ProjectileView{ID: pr.ID, Owner: pr.Owner, X: x, Y: y, Own: true, Predicted: predicted})
}

// flying reports whether pr is still in the air at tick by the rules the
// client can check alone: its life, the arena's bounds and the walls.
func (s *Session) flying(pr *sim.Projectile, tick float64) bool {
	if tick-float64(pr.SpawnTick) > float64(s.simCfg.Rules.ProjectileLife) {
		return false
	}
	t := uint32(max(math.Floor(tick), float64(pr.SpawnTick)))
	x, y := s.simCfg.ProjectilePos(pr, t)
	if x < 0 || y < 0 || x >= s.simCfg.Arena.Width || y >= s.simCfg.Arena.Height {
		return false
	}
	for _, w := range s.simCfg.Arena.Walls {
		if w.Contains(x, y) {
			return false
		}
	}
	return true
}

// projectileAt is ProjectilePos at a fractional tick, in floats.
func (s *Session) projectileAt(pr *sim.Projectile, tick float64) (x, y float64) {
	age := max(tick-float64(pr.SpawnTick), 0)
	dx, dy := sim.Dir(pr.Aim)
	step := float64(s.simCfg.Rules.ProjectileSpeed) * age
	return float64(pr.X) + float64(dx)*step/16384, float64(pr.Y) + float64(dy)*step/16384
}

func containsProjectile(s *sim.State, id uint32) bool {
	_, ok := slices.BinarySearchFunc(s.Projectiles, id, func(p sim.Projectile, id uint32) int { return cmp.Compare(p.ID, id) })
	return ok
}

// respawned reports whether a player died or came back between two states:
// then it is not interpolated but jumps.
func respawned(a, b *sim.Player) bool {
	return a.Deaths != b.Deaths || a.Alive() != b.Alive()
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// lerpAim interpolates an aim the short way around the circle.
func lerpAim(a, b, t float64) float64 {
	d := math.Mod(b-a+1.5*sim.AimSteps, sim.AimSteps) - sim.AimSteps/2
	return math.Mod(a+d*t+sim.AimSteps, sim.AimSteps)
}

package draw

import (
	"cmp"
	"math"
	"slices"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
)

// PlayerView is a player as it is drawn. Positions are fixed-point units
// (sim.Scale per world unit).
type PlayerView struct {
	ID                game.PlayerID
	Name              string
	X, Y              float64
	Aim               float64 // 0..sim.AimSteps
	Health, MaxHealth int
	Alive             bool
	Self              bool
}

// ShotView is a shot as it is drawn, in fixed-point units.
type ShotView struct {
	ID    uint32
	Owner game.PlayerID
	X, Y  float64
	Own   bool // fired by the own player: drawn at the predicted tick
}

// Frame is what one frame of the arena draws, built from a Scene by
// Frame.Build without a display (so it is tested as plain Go).
type Frame struct {
	Config  *sim.Config // the room's map and rules; nil before Joined described them
	Players []PlayerView
	Shots   []ShotView
}

// Build fills f from s: every player of the interpolated state (s.Shown)
// except the own one, which is drawn where the prediction has it
// (s.Predicted); health and life from the newest state. Others' shots fly
// at the render tick, the own ones (the server's and those of inputs it
// has not applied yet) at the predicted tick; a shot is not drawn once it
// has expired, left the arena or hit a wall, an own shot neither once it
// reaches another player as drawn. f's slices are reused.
func (f *Frame) Build(s *game.Scene) {
	f.Players, f.Shots, f.Config = f.Players[:0], f.Shots[:0], nil
	cl, ok := s.Client.(*arena.Client)
	if !ok {
		return
	}
	f.Config = &cl.Config
	if !s.Ready {
		return
	}
	predicting := s.Predicted != nil && s.Self != 0
	maxHealth := int(cl.Config.Rules.MaxHealth)
	add := func(t *game.Table, i int, self bool) {
		id := t.ID(arena.KindPlayer, i)
		row := t.Row(arena.KindPlayer, i)
		p := PlayerView{ID: game.PlayerID(id), Name: s.Name(game.PlayerID(id)), Self: self, MaxHealth: maxHealth,
			X: float64(row[arena.PX]), Y: float64(row[arena.PY]), Aim: float64(row[arena.PAim])}
		src := row
		if n := s.Newest.Get(arena.KindPlayer, id); n != nil {
			src = n
		}
		p.Health, p.Alive = int(src[arena.PHealth]), src[arena.PHealth] > 0
		f.Players = append(f.Players, p)
	}
	for i := range s.Shown.Len(arena.KindPlayer) {
		if predicting && s.Shown.ID(arena.KindPlayer, i) == uint32(s.Self) {
			continue
		}
		add(s.Shown, i, s.Shown.ID(arena.KindPlayer, i) == uint32(s.Self))
	}
	if predicting {
		if i := s.Predicted.Find(arena.KindPlayer, uint32(s.Self)); i >= 0 {
			add(s.Predicted, i, true)
		}
		slices.SortFunc(f.Players, func(a, b PlayerView) int { return cmp.Compare(a.ID, b.ID) })
	}

	for i := range s.Shown.Len(arena.KindShot) {
		pr := arena.ShotOf(s.Shown.ID(arena.KindShot, i), s.Shown.Row(arena.KindShot, i))
		if predicting && pr.Owner == sim.PlayerID(s.Self) {
			continue
		}
		if float64(pr.SpawnTick) > s.RenderTick || !flying(f.Config, &pr, s.RenderTick) {
			continue
		}
		x, y := shotAt(f.Config, &pr, s.RenderTick)
		f.Shots = append(f.Shots, ShotView{ID: pr.ID, Owner: game.PlayerID(pr.Owner), X: x, Y: y})
	}
	if !predicting {
		return
	}
	reach := float64(cl.Config.Rules.PlayerHalf + cl.Config.Rules.ProjectileRadius)
	for i := range s.Predicted.Len(arena.KindShot) {
		pr := arena.ShotOf(s.Predicted.ID(arena.KindShot, i), s.Predicted.Row(arena.KindShot, i))
		if pr.Owner != sim.PlayerID(s.Self) || !flying(f.Config, &pr, s.PredictedTick) {
			continue
		}
		x, y := shotAt(f.Config, &pr, s.PredictedTick)
		if slices.ContainsFunc(f.Players, func(p PlayerView) bool {
			return !p.Self && p.Alive && math.Abs(p.X-x) <= reach && math.Abs(p.Y-y) <= reach
		}) {
			continue
		}
		f.Shots = append(f.Shots, ShotView{ID: pr.ID, Owner: game.PlayerID(pr.Owner), X: x, Y: y, Own: true})
	}
}

// Self returns the own player as drawn, or nil.
func (f *Frame) Self() *PlayerView {
	for i := range f.Players {
		if f.Players[i].Self {
			return &f.Players[i]
		}
	}
	return nil
}

// flying reports whether pr is still in the air at tick by the rules the
// client can check alone: its life, the arena's bounds and the walls.
func flying(cfg *sim.Config, pr *sim.Projectile, tick float64) bool {
	if tick-float64(pr.SpawnTick) > float64(cfg.Rules.ProjectileLife) {
		return false
	}
	t := uint32(max(math.Floor(tick), float64(pr.SpawnTick)))
	x, y := cfg.ProjectilePos(pr, t)
	if x < 0 || y < 0 || x >= cfg.Arena.Width || y >= cfg.Arena.Height {
		return false
	}
	for _, w := range cfg.Arena.Walls {
		if w.Contains(x, y) {
			return false
		}
	}
	return true
}

// shotAt is ProjectilePos at a fractional tick, in floats.
func shotAt(cfg *sim.Config, pr *sim.Projectile, tick float64) (x, y float64) {
	age := max(tick-float64(pr.SpawnTick), 0)
	dx, dy := sim.Dir(pr.Aim)
	step := float64(cfg.Rules.ProjectileSpeed) * age
	return float64(pr.X) + float64(dx)*step/16384, float64(pr.Y) + float64(dy)*step/16384
}

// Kill is one entry of the kill feed.
type Kill struct {
	Killer, Victim         game.PlayerID
	KillerName, VictimName string
	Tick                   uint32 // the tick of the state that showed it
}

// KillFeed derives kills from successive newest states: a player whose
// Deaths grew was killed by its KilledBy. It keeps the last few.
type KillFeed struct {
	kills  []Kill
	deaths map[uint32]int64 // each player's deaths in the last state seen
	tick   uint32
	seen   bool
}

// maxKillFeed is how many kills the feed keeps.
const maxKillFeed = 6

// Observe takes the scene's newest state, once per new tick.
func (k *KillFeed) Observe(s *game.Scene) {
	if !s.Ready || s.Newest == nil || (k.seen && s.Newest.Tick == k.tick) {
		return
	}
	t := s.Newest
	if k.deaths == nil {
		k.deaths = map[uint32]int64{}
	}
	for i := range t.Len(arena.KindPlayer) {
		id, row := t.ID(arena.KindPlayer, i), t.Row(arena.KindPlayer, i)
		if old, ok := k.deaths[id]; ok && k.seen && row[arena.PDeaths] > old {
			killer := game.PlayerID(row[arena.PKilledBy])
			name := "?"
			if killer != 0 {
				name = s.Name(killer)
			}
			k.kills = append(k.kills, Kill{Killer: killer, Victim: game.PlayerID(id), KillerName: name,
				VictimName: s.Name(game.PlayerID(id)), Tick: t.Tick})
		}
	}
	clear(k.deaths)
	for i := range t.Len(arena.KindPlayer) {
		k.deaths[t.ID(arena.KindPlayer, i)] = t.Row(arena.KindPlayer, i)[arena.PDeaths]
	}
	if n := len(k.kills); n > maxKillFeed {
		k.kills = slices.Delete(k.kills, 0, n-maxKillFeed)
	}
	k.tick, k.seen = t.Tick, true
}

// Recent returns the kills of the last age ticks before tick, oldest
// first. The slice aliases the feed.
func (k *KillFeed) Recent(tick, age uint32) []Kill {
	i := 0
	for i < len(k.kills) && tick-k.kills[i].Tick >= age {
		i++
	}
	return k.kills[i:]
}

// Score is one line of the scoreboard.
type Score struct {
	ID            game.PlayerID
	Name          string
	Kills, Deaths int64
	Self          bool
}

// Scores appends the scoreboard of the newest state to dst: most kills
// first, then fewest deaths, then by id.
func Scores(s *game.Scene, dst []Score) []Score {
	if !s.Ready || s.Newest == nil {
		return dst
	}
	t := s.Newest
	start := len(dst)
	for i := range t.Len(arena.KindPlayer) {
		id, row := game.PlayerID(t.ID(arena.KindPlayer, i)), t.Row(arena.KindPlayer, i)
		dst = append(dst, Score{ID: id, Name: s.Name(id), Kills: row[arena.PKills], Deaths: row[arena.PDeaths], Self: id == s.Self})
	}
	slices.SortFunc(dst[start:], func(x, y Score) int {
		return cmp.Or(cmp.Compare(y.Kills, x.Kills), cmp.Compare(x.Deaths, y.Deaths), cmp.Compare(x.ID, y.ID))
	})
	return dst
}

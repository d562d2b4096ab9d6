package netcode

import (
	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/sim"
)

// ArenaProto describes a world's map and rules for Joined.
func ArenaProto(cfg *sim.Config) *arenapb.Arena {
	a := &arenapb.Arena{
		Width: cfg.Arena.Width, Height: cfg.Arena.Height, Scale: sim.Scale,
		PlayerHalf: cfg.Rules.PlayerHalf, PlayerSpeed: cfg.Rules.PlayerSpeed,
		PlayerDiagonalSpeed: cfg.Rules.PlayerDiagonal,
		ProjectileSpeed:     cfg.Rules.ProjectileSpeed, ProjectileRadius: cfg.Rules.ProjectileRadius,
		ProjectileLife: cfg.Rules.ProjectileLife, FireInterval: cfg.Rules.FireInterval,
		RespawnDelay: cfg.Rules.RespawnDelay, MaxHealth: uint32(cfg.Rules.MaxHealth),
		Damage: uint32(cfg.Rules.Damage), AimSteps: sim.AimSteps, Seed: cfg.Seed,
		TickRate: cfg.Rules.TickRate, MaxRewind: cfg.Rules.MaxRewind,
	}
	for _, w := range cfg.Arena.Walls {
		a.Walls = append(a.Walls, &arenapb.Rect{X: w.X, Y: w.Y, W: w.W, H: w.H})
	}
	for _, s := range cfg.Arena.Spawns {
		a.Spawns = append(a.Spawns, &arenapb.Point{X: s.X, Y: s.Y})
	}
	return a
}

// SimConfig rebuilds the world configuration a server described in Joined,
// so a client can predict with the server's exact rules.
func SimConfig(a *arenapb.Arena) sim.Config {
	cfg := sim.Config{
		Rules: sim.Rules{
			TickRate: a.GetTickRate(), PlayerHalf: a.GetPlayerHalf(), PlayerSpeed: a.GetPlayerSpeed(),
			PlayerDiagonal: a.GetPlayerDiagonalSpeed(), ProjectileSpeed: a.GetProjectileSpeed(),
			ProjectileRadius: a.GetProjectileRadius(), ProjectileLife: a.GetProjectileLife(),
			FireInterval: a.GetFireInterval(), RespawnDelay: a.GetRespawnDelay(),
			MaxHealth: uint8(min(a.GetMaxHealth(), 255)), Damage: uint8(min(a.GetDamage(), 255)),
			MaxRewind: a.GetMaxRewind(),
		},
		Arena: sim.Arena{Width: a.GetWidth(), Height: a.GetHeight()},
		Seed:  a.GetSeed(),
	}
	for _, w := range a.GetWalls() {
		cfg.Arena.Walls = append(cfg.Arena.Walls, sim.Rect{X: w.GetX(), Y: w.GetY(), W: w.GetW(), H: w.GetH()})
	}
	for _, s := range a.GetSpawns() {
		cfg.Arena.Spawns = append(cfg.Arena.Spawns, sim.Point{X: s.GetX(), Y: s.GetY()})
	}
	return cfg
}

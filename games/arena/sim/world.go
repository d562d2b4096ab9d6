package sim

import (
	"cmp"
	"errors"
	"slices"
)

// PlayerID names a player within one world. IDs are assigned by the caller
// of AddPlayer and never reused in a match; 0 means "nobody".
type PlayerID uint32

// Buttons is the bit set of what a player holds down during one tick.
type Buttons uint8

const (
	ButtonUp Buttons = 1 << iota
	ButtonDown
	ButtonLeft
	ButtonRight
	ButtonFire

	// ButtonsMask holds every defined button; other bits are ignored.
	ButtonsMask = ButtonUp | ButtonDown | ButtonLeft | ButtonRight | ButtonFire
)

// Input is what one player does during one tick.
type Input struct {
	Buttons Buttons
	Aim     uint16 // 0..AimSteps-1; larger values wrap
	// ViewTick is the tick of the world the player was looking at when it
	// made this input: where it saw the other players. A shot fired with it
	// is judged against where its targets were then (lag compensation),
	// rewound at most Rules.MaxRewind ticks. 0 means unknown: no rewind.
	ViewTick uint32
}

// Player is one player's state. Every field is part of a snapshot except In.
type Player struct {
	ID          PlayerID
	X, Y        int32  // centre, fixed-point
	Aim         uint16 // 0..AimSteps-1
	Health      uint8  // 0 while dead
	NextFire    uint32 // first tick at which the player may fire again
	RespawnTick uint32 // tick at which a dead player respawns; 0 while alive
	Deaths      uint32
	Kills       uint32
	KilledBy    PlayerID // who dealt the last death; 0 if none

	// In is the input applied on the next Step. The owner of the World sets
	// it each tick (the server's room: no buttons, same aim, when no input
	// has arrived); it is not part of a snapshot.
	In Input
}

// Alive reports whether p can move, fire and be hit.
func (p *Player) Alive() bool { return p.Health > 0 }

// Projectile is a shot in flight. It never changes after it is fired: its
// position at any tick follows from its origin, aim and age (ProjectilePos).
type Projectile struct {
	ID        uint32
	Owner     PlayerID
	SpawnTick uint32
	X, Y      int32 // origin, fixed-point
	Aim       uint16

	// Rewind is how many ticks in the past this projectile's targets are
	// tested (0..Rules.MaxRewind), from the shooter's Input.ViewTick. Like
	// Player.In it is server-side judging data, not part of a snapshot.
	Rewind uint32
}

// State is everything that changes during a match. Players are sorted by ID
// and projectiles by ID; both orders are part of the determinism contract.
type State struct {
	Tick           uint32
	NextProjectile uint32 // ID of the next projectile fired
	Players        []Player
	Projectiles    []Projectile
}

// CopyFrom makes s a deep copy of src, reusing s's slices.
func (s *State) CopyFrom(src *State) {
	s.Tick = src.Tick
	s.NextProjectile = src.NextProjectile
	s.Players = append(s.Players[:0], src.Players...)
	s.Projectiles = append(s.Projectiles[:0], src.Projectiles...)
}

// Reset empties s, keeping its slices' capacity.
func (s *State) Reset() {
	s.Tick, s.NextProjectile = 0, 0
	s.Players = s.Players[:0]
	s.Projectiles = s.Projectiles[:0]
}

// Player returns the player with id, or nil.
func (s *State) Player(id PlayerID) *Player {
	i, ok := slices.BinarySearchFunc(s.Players, id, func(p Player, id PlayerID) int {
		return cmp.Compare(p.ID, id)
	})
	if !ok {
		return nil
	}
	return &s.Players[i]
}

// Config is everything a World needs besides its state.
type Config struct {
	Rules Rules
	Arena Arena
	// Seed picks spawn points; worlds with the same seed, inputs and joins
	// are identical.
	Seed uint64
}

// World is one match: its configuration and its state. It is not safe for
// concurrent use; in the server exactly one room goroutine owns it.
type World struct {
	Config
	State

	events []Event    // scratch for the current Step, reused
	past   []pastTick // ring of recent player positions, for lag compensation
}

// pastTick is where the players were at the end of one tick.
type pastTick struct {
	tick    uint32
	players []pastPlayer // sorted by id
}

type pastPlayer struct {
	id    PlayerID
	x, y  int32
	alive bool
}

// ErrPlayerExists is returned by AddPlayer for an ID already in the world.
var ErrPlayerExists = errors.New("sim: player already in world")

// NewWorld returns an empty world at tick 0.
func NewWorld(cfg Config) *World {
	return &World{Config: cfg}
}

// AddPlayer puts a new player with full health at a spawn point. IDs must
// be unique and non-zero.
func (w *World) AddPlayer(id PlayerID) (*Player, error) {
	if id == 0 {
		return nil, errors.New("sim: player id 0 is reserved")
	}
	i, found := slices.BinarySearchFunc(w.Players, id, func(p Player, id PlayerID) int { return cmp.Compare(p.ID, id) })
	if found {
		return nil, ErrPlayerExists
	}
	w.Players = slices.Insert(w.Players, i, Player{ID: id})
	p := &w.Players[i]
	w.spawn(p)
	return p, nil
}

// RemovePlayer takes a player out of the world. Its projectiles fly on and
// can still hit: a victim's KilledBy still names the departed shooter, but no
// one's Kills count goes up.
func (w *World) RemovePlayer(id PlayerID) {
	w.Players = slices.DeleteFunc(w.Players, func(p Player) bool { return p.ID == id })
}

// SetInput sets the input a player applies on the next Step. It reports
// false when the player is not in the world.
func (w *World) SetInput(id PlayerID, in Input) bool {
	p := w.Player(id)
	if p == nil {
		return false
	}
	p.In = in
	return true
}

func (w *World) spawn(p *Player) {
	if len(w.Arena.Spawns) == 0 {
		p.X, p.Y = w.Arena.Width/2, w.Arena.Height/2
	} else {
		h := mix(w.Seed ^ uint64(w.Tick)<<32 ^ uint64(p.ID))
		sp := w.Arena.Spawns[h%uint64(len(w.Arena.Spawns))]
		p.X, p.Y = sp.X, sp.Y
	}
	p.Health = w.Rules.MaxHealth
	p.RespawnTick = 0
	p.NextFire = w.Tick
}

// mix is SplitMix64's finalizer: a stateless hash for deterministic choices.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

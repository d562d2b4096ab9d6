// Package arena is the arena shooter written against the engine's game
// API: a top-down match where players move, aim, shoot, take damage,
// respawn and score. Its rules are in the sim subpackage (pure,
// deterministic, fixed-point); this package declares what it replicates,
// adapts the rules to game.Match, predicts for clients, plays for bots
// (brain.go) and sketches the dashboard's view. The desktop client's
// renderer is in the draw subpackage (it links Ebiten; this package does
// not).
//
// arena imports the game API, its sim and proto/arenapb; never the server,
// the network code, the client or the bots.
package arena

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/proto/arenapb"
)

// Kinds and fields of the arena's replicated state, in schema order.
const (
	KindPlayer = 0
	KindShot   = 1

	PX, PY, PAim, PHealth, PNextFire, PRespawn, PDeaths, PKills, PKilledBy = 0, 1, 2, 3, 4, 5, 6, 7, 8
	SOwner, SSpawn, SX, SY, SAim                                           = 0, 1, 2, 3, 4
)

// maxCoord bounds positions on the wire (fixed-point units): 2^24 is over
// 2 million world units.
const maxCoord = 1 << 24

// Schema is what an arena room replicates: players, and shots, which never
// change once fired (their position follows from origin, aim and age).
var Schema = &game.Schema{Kinds: []game.Kind{
	{Name: "player", Players: true, Fields: []game.Field{
		{Name: "x", Max: maxCoord, Interpolate: true, Predicted: true},
		{Name: "y", Max: maxCoord, Interpolate: true, Predicted: true},
		{Name: "aim", Wrap: sim.AimSteps, Interpolate: true, Predicted: true},
		{Name: "health", Max: 255},
		// Not predicted: the tick an input is applied at moves with its
		// lateness, and so does the fire cooldown (a client predicts it to
		// pace its shots, but a difference is timing, not a correction).
		{Name: "next_fire"},
		{Name: "respawn_tick", Jump: true}, // set at death, cleared at the respawn
		{Name: "deaths"},
		{Name: "kills"},
		{Name: "killed_by"},
	}},
	{Name: "shot", Immutable: true, Fields: []game.Field{
		{Name: "owner"},
		{Name: "spawn_tick", Tick: true},
		{Name: "x", Max: maxCoord},
		{Name: "y", Max: maxCoord},
		{Name: "aim", Wrap: sim.AimSteps},
	}},
}}

// Def is the arena game.
var Def = &game.Def{
	Name:       "arena",
	Summary:    "top-down arena shooter: move, aim, shoot, respawn (predicted, lag-compensated)",
	Schema:     Schema,
	New:        newMatch,
	Restore:    restoreMatch,
	CheckInput: checkInput,
	MaxInput:   InputSize,
	Seats:      16,
	TickInputs: true,
	Params: []game.Param{
		{Name: "score-limit", Default: "0", Usage: "kills that win the match and end it (0: the match never ends)"},
		{Name: "view-radius", Default: "0", Usage: "a player sees only players and shots within this many world units (an area of interest for big rooms; 0: everything)"},
	},
	Client: newClient,
	Brain:  newBrain,
	Sketch: sketch,
}

// match is one arena match: a sim.World and its end condition.
type match struct {
	world      *sim.World
	scoreLimit uint32
	describe   []byte
}

// params are the arena's settings (Def.Params).
type params struct {
	scoreLimit uint32
	viewRadius int64 // fixed-point units; 0: everyone sees everything
}

func config(cfg game.Config) (sim.Config, params, error) {
	var p params
	num := func(name string) (uint64, error) {
		v, ok := cfg.Params[name]
		if !ok {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("arena: %s %q is not a whole number", name, v)
		}
		return n, nil
	}
	limit, err := num("score-limit")
	if err != nil {
		return sim.Config{}, p, err
	}
	radius, err := num("view-radius")
	if err != nil {
		return sim.Config{}, p, err
	}
	p.scoreLimit, p.viewRadius = uint32(limit), int64(radius)*sim.Scale
	return sim.Config{Rules: sim.NewRules(cfg.TickRate), Arena: sim.DefaultArena(), Seed: cfg.Seed}, p, nil
}

func newMatch(cfg game.Config) (game.Match, error) {
	sc, p, err := config(cfg)
	if err != nil {
		return nil, err
	}
	return newMatchOf(sim.NewWorld(sc), p), nil
}

func restoreMatch(cfg game.Config, saved []byte) (game.Match, error) {
	sc, p, err := config(cfg)
	if err != nil {
		return nil, err
	}
	w, err := sim.RestoreWorld(sc, saved)
	if err != nil {
		return nil, err
	}
	return newMatchOf(w, p), nil
}

// newMatchOf wraps w; with a view radius the match is a game.Viewer (only
// then: the engine pays for per-member views only in rooms that use them).
func newMatchOf(w *sim.World, p params) game.Match {
	d := ConfigProto(&w.Config)
	d.ScoreLimit = p.scoreLimit
	b, err := proto.Marshal(d)
	if err != nil {
		panic(err)
	}
	m := &match{world: w, scoreLimit: p.scoreLimit, describe: b}
	if p.viewRadius > 0 {
		return &viewMatch{match: m, radius: p.viewRadius}
	}
	return m
}

// viewMatch is a match whose players see only what is near them.
type viewMatch struct {
	*match
	radius int64
}

// Visible shows a player the players and shots within the view radius of
// itself (and itself); a spectator sees everything.
func (m *viewMatch) Visible(t *game.Table, viewer game.PlayerID, v *game.Visibility) {
	self := t.Get(KindPlayer, uint32(viewer))
	if viewer == 0 || self == nil {
		v.ShowAll(KindPlayer, t.Len(KindPlayer))
		v.ShowAll(KindShot, t.Len(KindShot))
		return
	}
	r2 := m.radius * m.radius
	near := func(x, y int64) bool {
		dx, dy := x-self[PX], y-self[PY]
		return dx*dx+dy*dy <= r2
	}
	for i := range t.Len(KindPlayer) {
		row := t.Row(KindPlayer, i)
		if near(row[PX], row[PY]) {
			v.Show(KindPlayer, i)
		}
	}
	cfg := &m.world.Config
	for i := range t.Len(KindShot) {
		pr := ShotOf(t.ID(KindShot, i), t.Row(KindShot, i))
		x, y := cfg.ProjectilePos(&pr, t.Tick)
		if near(int64(x), int64(y)) {
			v.Show(KindShot, i)
		}
	}
}

func (m *match) Join(_ *game.Context, p game.PlayerID, _ string) error {
	_, err := m.world.AddPlayer(sim.PlayerID(p))
	return err
}

func (m *match) Leave(_ *game.Context, p game.PlayerID) { m.world.RemovePlayer(sim.PlayerID(p)) }

// Input sets the player's input for the coming Step. An extra (catch-up)
// input only moves a living player: a dead one neither moves nor turns, and
// shots keep their ticks.
func (m *match) Input(_ *game.Context, p game.PlayerID, in game.Input) {
	pl := m.world.Player(sim.PlayerID(p))
	if pl == nil {
		return
	}
	buttons, aim, err := DecodeInput(in.Data)
	if err != nil {
		return // CheckInput refused it already
	}
	si := sim.Input{Buttons: buttons, Aim: aim, ViewTick: in.ViewTick}
	if in.Extra {
		if pl.Alive() {
			m.world.MovePlayer(pl, si)
		}
		return
	}
	pl.In = si
}

func (m *match) Event(*game.Context, game.PlayerID, string, []byte) ([]byte, error) {
	return nil, game.ErrUnknownEvent
}

// Step steps the world; a player whose next input is late stands still,
// keeping its aim. With a score limit, the first player to reach it ends
// the match.
func (m *match) Step(c *game.Context) {
	w := m.world
	w.Step()
	for i := range w.Players {
		w.Players[i].In = sim.Input{Aim: w.Players[i].In.Aim}
	}
	if m.scoreLimit == 0 {
		return
	}
	for i := range w.Players {
		if w.Players[i].Kills >= m.scoreLimit {
			c.End(m.result(c))
			return
		}
	}
}

func (m *match) result(c *game.Context) game.Result {
	var r game.Result
	ps := slices.Clone(m.world.Players)
	slices.SortFunc(ps, func(a, b sim.Player) int {
		return cmp.Or(cmp.Compare(b.Kills, a.Kills), cmp.Compare(a.Deaths, b.Deaths), cmp.Compare(a.ID, b.ID))
	})
	for _, p := range ps {
		r.Standings = append(r.Standings, game.Standing{Player: game.PlayerID(p.ID), Name: c.Name(game.PlayerID(p.ID)), Score: int64(p.Kills)})
	}
	if len(r.Standings) > 0 {
		r.Summary = fmt.Sprintf("%s wins with %d kills", r.Standings[0].Name, r.Standings[0].Score)
	}
	return r
}

func (m *match) Replicate(t *game.Table) { Replicate(&m.world.State, t) }

// Replicate writes a world state into t, as the server replicates it.
func Replicate(s *sim.State, t *game.Table) {
	for i := range s.Players {
		p := &s.Players[i]
		row := t.Add(KindPlayer, uint32(p.ID))
		row[PX], row[PY], row[PAim], row[PHealth] = int64(p.X), int64(p.Y), int64(p.Aim), int64(p.Health)
		row[PNextFire], row[PRespawn], row[PDeaths] = int64(p.NextFire), int64(p.RespawnTick), int64(p.Deaths)
		row[PKills], row[PKilledBy] = int64(p.Kills), int64(p.KilledBy)
	}
	for i := range s.Projectiles {
		pr := &s.Projectiles[i]
		row := t.Add(KindShot, pr.ID)
		row[SOwner], row[SSpawn], row[SX], row[SY], row[SAim] = int64(pr.Owner), int64(pr.SpawnTick), int64(pr.X), int64(pr.Y), int64(pr.Aim)
	}
}

// PlayerOf reads a player row back into a sim.Player.
func PlayerOf(id uint32, row []int64) sim.Player {
	return sim.Player{ID: sim.PlayerID(id), X: int32(row[PX]), Y: int32(row[PY]), Aim: uint16(row[PAim]),
		Health: uint8(row[PHealth]), NextFire: uint32(row[PNextFire]), RespawnTick: uint32(row[PRespawn]),
		Deaths: uint32(row[PDeaths]), Kills: uint32(row[PKills]), KilledBy: sim.PlayerID(row[PKilledBy])}
}

// ShotOf reads a shot row back into a sim.Projectile.
func ShotOf(id uint32, row []int64) sim.Projectile {
	return sim.Projectile{ID: id, Owner: sim.PlayerID(row[SOwner]), SpawnTick: uint32(row[SSpawn]),
		X: int32(row[SX]), Y: int32(row[SY]), Aim: uint16(row[SAim])}
}

func (m *match) Describe() []byte { return m.describe }

func (m *match) Save(dst []byte) []byte { return m.world.AppendSave(dst) }

// Spare lets the engine apply an input as an extra catch-up move when it
// does not fire.
func (m *match) Spare(data []byte) bool {
	buttons, _, err := DecodeInput(data)
	return err == nil && buttons&sim.ButtonFire == 0
}

// InputSize is the size of one arena input in bytes.
const InputSize = 2

// AppendInput appends one arena input to dst: a little-endian uint16 with
// the aim in bits 0..9 and the buttons in bits 10..14 (bit 15 is 0).
func AppendInput(dst []byte, buttons sim.Buttons, aim uint16) []byte {
	v := uint16(aim%sim.AimSteps) | uint16(buttons&sim.ButtonsMask)<<10
	return append(dst, byte(v), byte(v>>8))
}

// ErrInput means input bytes are not one valid arena input.
var ErrInput = errors.New("arena: malformed input")

// DecodeInput parses one arena input: exactly InputSize bytes, bit 15
// clear.
func DecodeInput(data []byte) (sim.Buttons, uint16, error) {
	if len(data) != InputSize || data[1]&0x80 != 0 {
		return 0, 0, ErrInput
	}
	v := uint16(data[0]) | uint16(data[1])<<8
	return sim.Buttons(v >> 10), v & (sim.AimSteps - 1), nil
}

func checkInput(data []byte) error {
	_, _, err := DecodeInput(data)
	return err
}

// ConfigProto describes a world's map and rules for Joined.describe.
func ConfigProto(cfg *sim.Config) *arenapb.Config {
	a := &arenapb.Config{
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

// SimConfig rebuilds the world configuration a server described, so a
// client predicts with the server's exact rules.
func SimConfig(a *arenapb.Config) sim.Config {
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

// World exposes the match's world to tests that drive a room directly
// (placing players for a lag-compensation check).
func (m *match) World() *sim.World { return m.world }

// StateOf reads a replicated arena table back into dst (players and shots;
// what a snapshot does not carry, such as inputs, stays zero), reusing
// dst's slices.
func StateOf(t *game.Table, dst *sim.State) {
	dst.Reset()
	dst.Tick = t.Tick
	for i := range t.Len(KindPlayer) {
		dst.Players = append(dst.Players, PlayerOf(t.ID(KindPlayer, i), t.Row(KindPlayer, i)))
	}
	for i := range t.Len(KindShot) {
		dst.Projectiles = append(dst.Projectiles, ShotOf(t.ID(KindShot, i), t.Row(KindShot, i)))
	}
}

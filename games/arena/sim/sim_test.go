package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openArena is a 1000×1000 unit map with one wall, used by the rule tables.
func openArena() Arena {
	return Arena{
		Width: u(1000), Height: u(1000),
		Walls:  []Rect{{u(500), u(0), u(20), u(400)}},
		Spawns: []Point{{u(100), u(100)}},
	}
}

func testWorld(t *testing.T, ids ...PlayerID) *World {
	t.Helper()
	w := NewWorld(Config{Rules: NewRules(60), Arena: openArena(), Seed: 1})
	for _, id := range ids {
		_, err := w.AddPlayer(id)
		require.NoError(t, err)
	}
	return w
}

func TestMovement(t *testing.T) {
	r := NewRules(60)
	s, d := r.PlayerSpeed, r.PlayerDiagonal
	h := r.PlayerHalf
	tests := []struct {
		name         string
		from         Point
		buttons      Buttons
		ticks        int
		wantX, wantY int32
	}{
		{"idle", Point{u(100), u(100)}, 0, 10, u(100), u(100)},
		{"right", Point{u(100), u(100)}, ButtonRight, 10, u(100) + 10*s, u(100)},
		{"left", Point{u(100), u(100)}, ButtonLeft, 3, u(100) - 3*s, u(100)},
		{"up", Point{u(100), u(100)}, ButtonUp, 3, u(100), u(100) - 3*s},
		{"down", Point{u(100), u(100)}, ButtonDown, 3, u(100), u(100) + 3*s},
		{"diagonal is slower per axis", Point{u(100), u(100)}, ButtonDown | ButtonRight, 4, u(100) + 4*d, u(100) + 4*d},
		{"opposites cancel", Point{u(100), u(100)}, ButtonLeft | ButtonRight, 5, u(100), u(100)},
		{"clamped to west edge", Point{u(20), u(100)}, ButtonLeft, 60, h, u(100)},
		{"clamped to south edge", Point{u(100), u(990)}, ButtonDown, 60, u(100), u(1000) - h},
		{"stopped by wall from the west", Point{u(450), u(200)}, ButtonRight, 60, u(500) - h, u(200)},
		{"stopped by wall from the east", Point{u(560), u(200)}, ButtonLeft, 60, u(520) + h, u(200)},
		{"slides along wall", Point{u(450), u(200)}, ButtonRight | ButtonDown, 60, u(500) - h, u(200) + 60*d},
		{"passes below wall", Point{u(450), u(450)}, ButtonRight, 10, u(450) + 10*s, u(450)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, 1)
			p := w.Player(1)
			p.X, p.Y = tc.from.X, tc.from.Y
			for range tc.ticks {
				w.SetInput(1, Input{Buttons: tc.buttons})
				w.Step()
			}
			p = w.Player(1)
			assert.Equal(t, tc.wantX, p.X, "x")
			assert.Equal(t, tc.wantY, p.Y, "y")
		})
	}
}

func TestAimWraps(t *testing.T) {
	w := testWorld(t, 1)
	w.SetInput(1, Input{Aim: AimSteps + 5})
	w.Step()
	assert.Equal(t, uint16(5), w.Player(1).Aim)
}

func TestFireRate(t *testing.T) {
	tests := []struct {
		name  string
		ticks uint32
		want  int
	}{
		{"first shot at once", 1, 1},
		{"one interval later a second", NewRules(60).FireInterval + 1, 2},
		{"one second of holding fire", 60, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, 1)
			fired := 0
			for range tc.ticks {
				w.SetInput(1, Input{Buttons: ButtonFire, Aim: AimSteps / 2})
				w.Step()
				for _, e := range w.Events() {
					if e.Kind == EventFire {
						fired++
					}
				}
			}
			assert.Equal(t, tc.want, fired)
		})
	}
}

// duel puts shooter 1 and target 2 on a line and returns the world.
func duel(t *testing.T, gap int32) *World {
	w := testWorld(t, 1, 2)
	w.Player(1).X, w.Player(1).Y = u(100), u(600)
	w.Player(2).X, w.Player(2).Y = u(100)+gap, u(600)
	return w
}

func TestProjectiles(t *testing.T) {
	r := NewRules(60)
	tests := []struct {
		name       string
		gap        int32 // distance from shooter to target along +x
		aim        uint16
		ticks      int
		wantHealth uint8
		wantAlive  int // projectiles in flight at the end
	}{
		{"hits target in range", u(200), 0, 30, r.MaxHealth - r.Damage, 0},
		{"misses when aimed away", u(200), 3 * AimSteps / 4, 30, r.MaxHealth, 1},
		{"expires after its life", u(200), AimSteps / 4, int(r.ProjectileLife) + 2, r.MaxHealth, 0},
		{"out of range target is safe", u(950), 0, 30, r.MaxHealth, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := duel(t, tc.gap)
			w.SetInput(1, Input{Buttons: ButtonFire, Aim: tc.aim})
			w.Step()
			w.SetInput(1, Input{Aim: tc.aim})
			for range tc.ticks - 1 {
				w.Step()
			}
			assert.Equal(t, tc.wantHealth, w.Player(2).Health)
			assert.Len(t, w.Projectiles, tc.wantAlive)
		})
	}
}

func TestProjectileStopsAtWall(t *testing.T) {
	w := testWorld(t, 1, 2)
	w.Player(1).X, w.Player(1).Y = u(400), u(200) // west of the wall
	w.Player(2).X, w.Player(2).Y = u(600), u(200) // east of it
	w.SetInput(1, Input{Buttons: ButtonFire, Aim: 0})
	w.Step()
	w.SetInput(1, Input{})
	for range 60 {
		w.Step()
	}
	assert.Equal(t, w.Rules.MaxHealth, w.Player(2).Health)
	assert.Empty(t, w.Projectiles)
}

func TestDeathAndRespawn(t *testing.T) {
	w := duel(t, u(100))
	r := w.Rules
	shots := int(r.MaxHealth / r.Damage)
	var killTick uint32
	for tick := 0; killTick == 0 && tick < 600; tick++ {
		w.SetInput(1, Input{Buttons: ButtonFire, Aim: 0})
		w.Step()
		for _, e := range w.Events() {
			if e.Kind == EventKill {
				killTick = w.Tick
				assert.Equal(t, PlayerID(1), e.Subject)
				assert.Equal(t, PlayerID(2), e.Object)
			}
		}
	}
	require.NotZero(t, killTick, "target never died")
	victim := w.Player(2)
	assert.False(t, victim.Alive())
	assert.Equal(t, uint32(1), victim.Deaths)
	assert.Equal(t, PlayerID(1), victim.KilledBy)
	assert.Equal(t, uint32(1), w.Player(1).Kills)
	assert.Equal(t, killTick+r.RespawnDelay, victim.RespawnTick)
	assert.GreaterOrEqual(t, killTick, uint32(1+(shots-1)*int(r.FireInterval)))

	// The dead neither move nor fire nor take hits.
	x, y := victim.X, victim.Y
	w.SetInput(2, Input{Buttons: ButtonRight | ButtonFire})
	w.SetInput(1, Input{})
	for w.Tick < victim.RespawnTick-1 {
		w.Step()
		victim = w.Player(2)
		assert.Equal(t, x, victim.X)
		assert.Equal(t, y, victim.Y)
		assert.Zero(t, victim.Health)
	}
	w.Step()
	victim = w.Player(2)
	assert.True(t, victim.Alive(), "respawned at tick %d", w.Tick)
	assert.Equal(t, r.MaxHealth, victim.Health)
	assert.Contains(t, w.Arena.Spawns, Point{victim.X, victim.Y})
}

func TestOwnProjectileNeverHitsOwner(t *testing.T) {
	w := testWorld(t, 1)
	for range 120 {
		w.SetInput(1, Input{Buttons: ButtonFire | ButtonRight, Aim: 0})
		w.Step()
	}
	assert.Equal(t, w.Rules.MaxHealth, w.Player(1).Health)
}

func TestAddRemovePlayers(t *testing.T) {
	w := testWorld(t, 3, 1, 2)
	ids := []PlayerID{}
	for _, p := range w.Players {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []PlayerID{1, 2, 3}, ids, "players stay sorted by id")
	_, err := w.AddPlayer(2)
	assert.ErrorIs(t, err, ErrPlayerExists)
	_, err = w.AddPlayer(0)
	assert.Error(t, err)
	w.RemovePlayer(2)
	assert.Nil(t, w.Player(2))
	assert.False(t, w.SetInput(2, Input{}))
	assert.NotNil(t, w.Player(3))
}

func TestNewRulesScalesWithTickRate(t *testing.T) {
	r30, r60 := NewRules(30), NewRules(60)
	assert.InDelta(t, 2*r60.PlayerSpeed, r30.PlayerSpeed, 1)
	assert.Equal(t, uint32(15), r60.FireInterval)
	assert.Equal(t, uint32(8), r30.FireInterval, "rounded to the nearest tick")
	assert.Equal(t, uint32(120), r60.RespawnDelay)
	assert.Equal(t, NewRules(1), NewRules(0), "tick rate clamps")
}

func TestDirTable(t *testing.T) {
	tests := []struct {
		aim    uint16
		dx, dy int32
	}{
		{0, trigOne, 0},
		{AimSteps / 4, 0, trigOne},
		{AimSteps / 2, -trigOne, 0},
		{3 * AimSteps / 4, 0, -trigOne},
		{AimSteps, trigOne, 0},
	}
	for _, tc := range tests {
		dx, dy := Dir(tc.aim)
		assert.Equal(t, tc.dx, dx, "aim %d", tc.aim)
		assert.Equal(t, tc.dy, dy, "aim %d", tc.aim)
	}
}

// ScriptedInputs returns a reproducible input for player id at tick, the
// way a jittery human would play: direction changes, aim sweeps, bursts of
// fire.
func scriptedInput(rng *rand.Rand) Input {
	return Input{Buttons: Buttons(rng.IntN(32)), Aim: uint16(rng.IntN(AimSteps))}
}

// runMatch plays ticks ticks of a 16-player match with seeded inputs,
// adding and removing players along the way, and returns the hash after
// every tick.
func runMatch(ticks int, seed uint64) []uint64 { return runMatchView(ticks, seed, 0) }

// runMatchView is runMatch where each input says its player saw the world
// viewLag ticks ago (0: no view tick, no lag compensation).
func runMatchView(ticks int, seed uint64, viewLag uint32) []uint64 {
	w := NewWorld(Config{Rules: NewRules(60), Arena: DefaultArena(), Seed: seed})
	rng := rand.New(rand.NewPCG(seed, 7))
	next := PlayerID(1)
	for range 16 {
		_, _ = w.AddPlayer(next)
		next++
	}
	hashes := make([]uint64, 0, ticks)
	for tick := range ticks {
		if tick%500 == 250 {
			w.RemovePlayer(w.Players[rng.IntN(len(w.Players))].ID)
			_, _ = w.AddPlayer(next)
			next++
		}
		for i := range w.Players {
			if rng.IntN(8) == 0 {
				w.Players[i].In = scriptedInput(rng)
			}
			if viewLag > 0 && w.Tick > viewLag {
				w.Players[i].In.ViewTick = w.Tick + 1 - viewLag
			}
		}
		w.Step()
		hashes = append(hashes, w.Hash())
	}
	return hashes
}

func TestDeterminism(t *testing.T) {
	const ticks = 10_000
	a := runMatch(ticks, 42)
	b := runMatch(ticks, 42)
	require.Len(t, a, ticks)
	for i := range a {
		require.Equal(t, a[i], b[i], "worlds diverged at tick %d", i+1)
	}
	c := runMatch(ticks, 43)
	assert.NotEqual(t, a[ticks-1], c[ticks-1], "a different seed should give a different match")
}

func TestMatchHasKillsAndRespawns(t *testing.T) {
	// A sanity check on the scripted match the determinism test replays: it
	// must exercise fire, hits, deaths and respawns, or the hash proves little.
	w := NewWorld(Config{Rules: NewRules(60), Arena: DefaultArena(), Seed: 9})
	rng := rand.New(rand.NewPCG(9, 7))
	for id := PlayerID(1); id <= 16; id++ {
		_, _ = w.AddPlayer(id)
	}
	kinds := map[EventKind]int{}
	respawns := 0
	for range 10_000 {
		for i := range w.Players {
			if rng.IntN(8) == 0 {
				w.Players[i].In = scriptedInput(rng)
			}
		}
		dead := map[PlayerID]bool{}
		for _, p := range w.Players {
			dead[p.ID] = !p.Alive()
		}
		w.Step()
		for _, e := range w.Events() {
			kinds[e.Kind]++
		}
		for _, p := range w.Players {
			if dead[p.ID] && p.Alive() {
				respawns++
			}
		}
	}
	assert.Positive(t, kinds[EventFire])
	assert.Positive(t, kinds[EventHit])
	assert.Positive(t, kinds[EventKill])
	assert.Positive(t, respawns)
}

func TestCopyFromIsDeep(t *testing.T) {
	w := testWorld(t, 1, 2)
	var s State
	s.CopyFrom(&w.State)
	w.Player(1).X += 5
	assert.NotEqual(t, w.Player(1).X, s.Player(1).X)
	assert.Equal(t, w.Player(2).X, s.Player(2).X)
}

// BenchmarkStep16 is one tick of a 16-player fight.
func BenchmarkStep16(b *testing.B) {
	w := NewWorld(Config{Rules: NewRules(60), Arena: DefaultArena(), Seed: 1})
	rng := rand.New(rand.NewPCG(1, 1))
	for id := PlayerID(1); id <= 16; id++ {
		_, _ = w.AddPlayer(id)
	}
	for range 600 {
		for i := range w.Players {
			if rng.IntN(30) == 0 {
				w.Players[i].In = scriptedInput(rng)
			}
		}
		w.Step()
	}
	b.ReportAllocs()
	for b.Loop() {
		w.Step()
	}
}

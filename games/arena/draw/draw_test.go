package draw

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
)

func TestAimAt(t *testing.T) {
	tests := []struct {
		dx, dy float64
		want   uint16
	}{
		{10, 0, 0},
		{0, 10, 256}, // down on screen
		{-10, 0, 512},
		{0, -10, 768},
		{10, 10, 128},
		{10, -0.01, 0}, // wraps to 0, not 1024
		{1, -1, 896},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, AimAt(tc.dx, tc.dy), "dx %v dy %v", tc.dx, tc.dy)
	}
}

func TestPlayerColors(t *testing.T) {
	assert.Equal(t, Palette[0], PlayerColor(1))
	assert.Equal(t, Palette[0], PlayerColor(game.PlayerID(len(Palette)+1)), "the palette repeats")
	assert.Equal(t, dim, PlayerColor(0))
	seen := map[[4]uint8]bool{}
	for _, c := range append(Palette, WallColor, Floor) {
		seen[[4]uint8{c.R, c.G, c.B, c.A}] = true
	}
	assert.Len(t, seen, len(Palette)+2, "every colour the window test looks for is distinct")
}

// client is the arena's client for the default map and 60 Hz rules, as a
// server describes it.
func client(t *testing.T) *arena.Client {
	t.Helper()
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	b, err := proto.Marshal(arena.ConfigProto(&cfg))
	require.NoError(t, err)
	c, err := arena.NewClient(b)
	require.NoError(t, err)
	return c
}

func TestSize(t *testing.T) {
	r := New()
	w, h := r.Size(&game.Scene{})
	assert.Equal(t, [2]int{DefaultW, DefaultH}, [2]int{w, h}, "before the room is described")
	c := client(t)
	c.Config.Arena.Width, c.Config.Arena.Height = 640*sim.Scale, 480*sim.Scale
	w, h = r.Size(&game.Scene{Client: c})
	assert.Equal(t, [2]int{640, 480}, [2]int{w, h}, "one pixel per world unit at zoom 1")
}

// player adds a player row to t.
func player(t *game.Table, id uint32, x, y, aim, health, deaths, kills, killedBy int64) {
	row := t.Insert(arena.KindPlayer, id)
	row[arena.PX], row[arena.PY], row[arena.PAim], row[arena.PHealth] = x, y, aim, health
	row[arena.PDeaths], row[arena.PKills], row[arena.PKilledBy] = deaths, kills, killedBy
}

// shot adds a shot row to t.
func shot(t *game.Table, id uint32, owner, spawn, x, y, aim int64) {
	row := t.Insert(arena.KindShot, id)
	row[arena.SOwner], row[arena.SSpawn], row[arena.SX], row[arena.SY], row[arena.SAim] = owner, spawn, x, y, aim
}

func tables(tick uint32) (newest, shown, predicted *game.Table) {
	newest, shown, predicted = game.NewTable(arena.Schema), game.NewTable(arena.Schema), game.NewTable(arena.Schema)
	newest.Tick, shown.Tick, predicted.Tick = tick, tick, tick
	return newest, shown, predicted
}

// u is world units in fixed point.
func u(v int64) int64 { return v * sim.Scale }

func TestFrame(t *testing.T) {
	c := client(t)
	speed := float64(c.Config.Rules.ProjectileSpeed)
	newest, shown, predicted := tables(100)
	// Player 1 is the own one; 2 and 3 others. Shown has everyone a little
	// in the past, Predicted the own one ahead; Newest the health.
	player(newest, 1, u(300), u(400), 0, 100, 0, 0, 0)
	player(newest, 2, u(800), u(400), 0, 50, 0, 0, 0)
	player(newest, 3, u(900), u(500), 0, 0, 1, 0, 2) // dead now
	player(shown, 1, u(290), u(400), 0, 100, 0, 0, 0)
	player(shown, 2, u(790), u(400), 512, 100, 0, 0, 0)
	player(shown, 3, u(890), u(500), 0, 100, 0, 0, 0)
	player(predicted, 1, u(320), u(400), 256, 100, 0, 0, 0)
	player(predicted, 2, u(800), u(400), 0, 50, 0, 0, 0)
	player(predicted, 3, u(900), u(500), 0, 0, 1, 0, 2)
	// Others' shots, drawn at the render tick 96.5.
	shot(shown, 10, 2, 90, u(700), u(200), 512) // flying left from x 700
	shot(shown, 11, 2, 97, u(700), u(250), 512) // fired after the render tick: not yet
	shot(shown, 12, 3, 0, u(700), u(300), 512)  // expired long ago
	shot(shown, 13, 2, 96, u(300), u(120), 0)   // fired half a tick before the render tick
	shot(shown, 14, 1, 95, u(100), u(100), 0)   // own, in Shown: drawn from Predicted instead
	// Own shots, drawn at the predicted tick 104.
	shot(predicted, 14, 1, 95, u(100), u(100), 0)                       // the server's
	shot(predicted, arena.PredictedShot|103, 1, 103, u(320), u(600), 0) // of a pending input
	shot(predicted, arena.PredictedShot|104, 1, 104, u(780), u(400), 0) // inside player 2: it has hit
	s := &game.Scene{Game: "arena", Client: c, Self: 1, Ready: true, Newest: newest, Shown: shown, Predicted: predicted,
		RenderTick: 96.5, PredictedTick: 104, Names: map[game.PlayerID]string{1: "ann", 2: "bob"}}

	var f Frame
	f.Build(s)
	require.Len(t, f.Players, 3)
	assert.Equal(t, PlayerView{ID: 1, Name: "ann", X: float64(u(320)), Y: float64(u(400)), Aim: 256, Health: 100, MaxHealth: 100, Alive: true, Self: true},
		f.Players[0], "the own player where the prediction has it")
	assert.Equal(t, PlayerView{ID: 2, Name: "bob", X: float64(u(790)), Y: float64(u(400)), Aim: 512, Health: 50, MaxHealth: 100, Alive: true},
		f.Players[1], "others as shown, with the newest health")
	assert.Equal(t, "#3", f.Players[2].Name, "a player the roster does not name")
	assert.False(t, f.Players[2].Alive, "dead in the newest state")
	assert.Same(t, &f.Players[0], f.Self())

	byID := map[uint32]ShotView{}
	for _, sh := range f.Shots {
		byID[sh.ID] = sh
	}
	assert.Len(t, f.Shots, 4, "%+v", f.Shots)
	require.Contains(t, byID, uint32(10))
	assert.InDelta(t, float64(u(700))-speed*6.5, byID[10].X, 1, "at the render tick, 6.5 ticks old")
	assert.False(t, byID[10].Own)
	assert.NotContains(t, byID, uint32(11), "fired after the render tick")
	assert.NotContains(t, byID, uint32(12), "expired")
	assert.Contains(t, byID, uint32(13))
	require.Contains(t, byID, uint32(14))
	assert.True(t, byID[14].Own)
	assert.InDelta(t, float64(u(100))+speed*9, byID[14].X, 1, "the own shot at the predicted tick, 9 ticks old")
	assert.Contains(t, byID, uint32(arena.PredictedShot|103), "a shot of an input the server has not applied")
	assert.NotContains(t, byID, uint32(arena.PredictedShot|104), "an own shot that reached another player is not drawn")

	// A spectator sees everyone as shown, and every shot at the render tick.
	s.Self, s.Predicted, s.PredictedTick = 0, nil, 96.5
	f.Build(s)
	require.Len(t, f.Players, 3)
	assert.Nil(t, f.Self())
	assert.Equal(t, float64(u(290)), f.Players[0].X)
	ids := []uint32{}
	for _, sh := range f.Shots {
		ids = append(ids, sh.ID)
	}
	assert.ElementsMatch(t, []uint32{10, 13, 14}, ids)

	// Before the first snapshot: the map, nothing else.
	f.Build(&game.Scene{Client: c})
	assert.NotNil(t, f.Config)
	assert.Empty(t, f.Players)
	f.Build(&game.Scene{})
	assert.Nil(t, f.Config, "no map before the room is described")
}

func TestShotsStopAtWalls(t *testing.T) {
	c := client(t)
	newest, shown, _ := tables(50)
	// The top wall spans x 560..720, y 80..112: a shot flying up from
	// below it enters the wall within a few ticks.
	shot(shown, 1, 2, 48, u(640), u(130), 768)
	s := &game.Scene{Client: c, Ready: true, Newest: newest, Shown: shown, RenderTick: 48}
	var f Frame
	f.Build(s)
	require.Len(t, f.Shots, 1, "in the air at its spawn")
	s.RenderTick = 50
	f.Build(s)
	assert.Empty(t, f.Shots, "gone into the wall")
}

func TestKillFeed(t *testing.T) {
	names := map[game.PlayerID]string{1: "ann", 2: "bob", 3: "cid"}
	state := func(tick uint32, deaths ...int64) *game.Scene {
		n := game.NewTable(arena.Schema)
		n.Tick = tick
		for i, d := range deaths {
			killer := int64(0)
			if d > 0 {
				killer = int64((i+1)%len(deaths) + 1) // killed by the next player
			}
			player(n, uint32(i+1), 0, 0, 0, 100, d, 0, killer)
		}
		return &game.Scene{Ready: true, Newest: n, Names: names}
	}
	var k KillFeed
	k.Observe(&game.Scene{}) // not ready: nothing
	k.Observe(state(10, 2, 0, 0))
	assert.Empty(t, k.Recent(10, 360), "the first state seen has no past to compare with")
	k.Observe(state(12, 2, 1, 0))
	k.Observe(state(12, 2, 1, 0)) // the same state again: no new kill
	k.Observe(state(14, 3, 1, 1))
	assert.Equal(t, []Kill{
		{Killer: 3, Victim: 2, KillerName: "cid", VictimName: "bob", Tick: 12},
		{Killer: 2, Victim: 1, KillerName: "bob", VictimName: "ann", Tick: 14},
		{Killer: 1, Victim: 3, KillerName: "ann", VictimName: "cid", Tick: 14},
	}, k.Recent(14, 360))
	assert.Len(t, k.Recent(12+360, 360), 2, "a kill leaves the feed after its age")
	assert.Empty(t, k.Recent(14+360, 360))

	// A player who joins is not a kill; the feed keeps the last six.
	k.Observe(state(16, 3, 1, 1, 0))
	assert.Len(t, k.Recent(16, 360), 3)
	for i := int64(1); i <= 5; i++ {
		k.Observe(state(16+uint32(2*i), 3+i, 1, 1, 0))
	}
	got := k.Recent(26, 360)
	require.Len(t, got, maxKillFeed)
	assert.Equal(t, uint32(26), got[maxKillFeed-1].Tick)
	assert.Equal(t, "ann", got[maxKillFeed-1].VictimName)
}

func TestScores(t *testing.T) {
	n := game.NewTable(arena.Schema)
	player(n, 1, 0, 0, 0, 100, 3, 2, 0)
	player(n, 2, 0, 0, 0, 100, 1, 5, 0)
	player(n, 3, 0, 0, 0, 100, 0, 2, 0)
	player(n, 4, 0, 0, 0, 100, 0, 2, 0)
	s := &game.Scene{Ready: true, Newest: n, Self: 4, Names: map[game.PlayerID]string{1: "ann", 2: "bob", 3: "cid", 4: "dee"}}
	assert.Equal(t, []Score{
		{ID: 2, Name: "bob", Kills: 5, Deaths: 1},
		{ID: 3, Name: "cid", Kills: 2, Deaths: 0},
		{ID: 4, Name: "dee", Kills: 2, Deaths: 0, Self: true},
		{ID: 1, Name: "ann", Kills: 2, Deaths: 3},
	}, Scores(s, nil), "most kills, then fewest deaths, then id")
	assert.Empty(t, Scores(&game.Scene{}, nil))
}

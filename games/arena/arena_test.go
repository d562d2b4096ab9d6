package arena

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
	"github.com/arenaserver/arena/games/arena/sim"
)

var cfg60 = game.Config{TickRate: 60, Capacity: 16, Seed: 7}

func TestDefIsValid(t *testing.T) {
	require.NoError(t, Def.Validate())
}

// fight is a script of eight players moving, aiming and firing at random,
// with view ticks so shots rewind.
func fight(seed uint64) func() gametest.Script {
	return func() gametest.Script {
		return fightScript(seed)
	}
}

func fightScript(seed uint64) gametest.Script {
	rng := rand.New(rand.NewPCG(seed, 3))
	return func(tick uint32, h *gametest.Harness) {
		for p := game.PlayerID(1); p <= 8; p++ {
			if rng.IntN(4) == 0 {
				continue // a late input: the player stands still
			}
			in := AppendInput(nil, sim.Buttons(rng.IntN(32)), uint16(rng.IntN(sim.AimSteps)))
			if err := h.InputView(p, in, tick-min(tick, 4)); err != nil {
				panic(err)
			}
		}
	}
}

// TestDeterministicThroughSaveAndRestore: the same script gives the same
// state at every tick, played twice and through a save and restore.
func TestDeterministicThroughSaveAndRestore(t *testing.T) {
	require.NoError(t, gametest.CheckDeterminism(Def, cfg60, 8, 3000, 1234, fight(1)))
}

func TestInputsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"buttons and aim", AppendInput(nil, sim.ButtonUp|sim.ButtonFire, 1023), true},
		{"nothing held, aim 0", []byte{0, 0}, true},
		{"bit 15 set", []byte{0, 0x80}, false},
		{"empty", nil, false},
		{"too short", []byte{1}, false},
		{"too long", []byte{1, 2, 3}, false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.ok, checkInput(tc.data) == nil, tc.name)
	}
}

func TestScoreLimitEndsTheMatch(t *testing.T) {
	c := cfg60
	c.Params = map[string]string{"score-limit": "1"}
	h, err := gametest.New(Def, c)
	require.NoError(t, err)
	require.NoError(t, h.Join(1, "ann"))
	require.NoError(t, h.Join(2, "bob"))
	w := h.Match.(*match).world
	w.Player(1).X, w.Player(1).Y = 100*sim.Scale, 600*sim.Scale
	w.Player(2).X, w.Player(2).Y = 200*sim.Scale, 600*sim.Scale
	var res game.Result
	ended := false
	for range 600 {
		require.NoError(t, h.Input(1, AppendInput(nil, sim.ButtonFire, 0)))
		if res, ended = h.Step(); ended {
			break
		}
	}
	require.True(t, ended, "four hits kill; one kill wins")
	assert.Equal(t, "ann wins with 1 kills", res.Summary)
	require.Len(t, res.Standings, 2)
	assert.Equal(t, game.PlayerID(1), res.Standings[0].Player)

	c.Params = map[string]string{"score-limit": "many"}
	_, err = gametest.New(Def, c)
	assert.Error(t, err)
}

// TestClientPredictsWhatTheServerDoes: the client's Predict on a replicated
// state, fed the same inputs, lands where the server's Step puts the player.
func TestClientPredictsWhatTheServerDoes(t *testing.T) {
	h, err := gametest.New(Def, cfg60)
	require.NoError(t, err)
	require.NoError(t, h.Join(1, "ann"))
	cl, err := NewClient(h.Match.Describe())
	require.NoError(t, err)
	pred := game.NewTable(Schema)
	pred.CopyFrom(h.State())
	rng := rand.New(rand.NewPCG(2, 2))
	shots := 0
	for tick := uint32(1); tick <= 600; tick++ {
		in := AppendInput(nil, sim.Buttons(rng.IntN(32)), uint16(rng.IntN(sim.AimSteps)))
		require.NoError(t, h.Input(1, in))
		cl.Predict(pred, 1, game.Input{Data: in}, tick)
		h.Step()
		server := h.State().Get(KindPlayer, 1)
		mine := pred.Get(KindPlayer, 1)
		for _, f := range []int{PX, PY, PAim, PNextFire} {
			require.Equal(t, server[f], mine[f], "tick %d field %d", tick, f)
		}
		shots = pred.Len(KindShot)
	}
	assert.Positive(t, shots, "predicted shots are added")
}

func TestSparesOnlyWhatDoesNotFire(t *testing.T) {
	m := &match{}
	assert.True(t, m.Spare(AppendInput(nil, sim.ButtonUp, 5)))
	assert.False(t, m.Spare(AppendInput(nil, sim.ButtonUp|sim.ButtonFire, 5)))
}

func TestViewRadiusHidesWhatIsFar(t *testing.T) {
	c := cfg60
	c.Params = map[string]string{"view-radius": "200"}
	h, err := gametest.New(Def, c)
	require.NoError(t, err)
	for p := game.PlayerID(1); p <= 3; p++ {
		require.NoError(t, h.Join(p, "p"))
	}
	w := h.Match.(*viewMatch).world
	w.Player(1).X, w.Player(1).Y = 100*sim.Scale, 100*sim.Scale
	w.Player(2).X, w.Player(2).Y = 250*sim.Scale, 100*sim.Scale  // 150 away: seen
	w.Player(3).X, w.Player(3).Y = 1000*sim.Scale, 600*sim.Scale // far
	tab := h.State()
	var v game.Visibility
	v.Reset(tab)
	h.Match.(game.Viewer).Visible(tab, 1, &v)
	assert.Equal(t, 2, v.Count(KindPlayer), "itself and the near one")
	assert.True(t, v.Visible(KindPlayer, tab.Find(KindPlayer, 2)))
	assert.False(t, v.Visible(KindPlayer, tab.Find(KindPlayer, 3)))
	v.Reset(tab)
	h.Match.(game.Viewer).Visible(tab, 0, &v)
	assert.Equal(t, 3, v.Count(KindPlayer), "a spectator sees everyone")

	_, isViewer := gametest.New(Def, cfg60)
	require.NoError(t, isViewer)
	plain, _ := gametest.New(Def, cfg60)
	_, ok := plain.Match.(game.Viewer)
	assert.False(t, ok, "without a radius the engine pays nothing for views")
	require.NoError(t, gametest.CheckDeterminism(Def, c, 8, 600, 300, fight(3)))
}

func TestInputRoundTrip(t *testing.T) {
	for b := sim.Buttons(0); b <= sim.ButtonsMask; b++ {
		for _, aim := range []uint16{0, 1, 511, 1023} {
			got, gotAim, err := DecodeInput(AppendInput(nil, b, aim))
			require.NoError(t, err)
			assert.Equal(t, b, got)
			assert.Equal(t, aim, gotAim)
		}
	}
	assert.Equal(t, []byte{0x00, 0x45}, AppendInput(nil, sim.ButtonUp|sim.ButtonFire, 256), "aim 256 | (1|16)<<10 = 0x4500")
}

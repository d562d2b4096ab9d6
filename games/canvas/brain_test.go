package canvas

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
)

// bots seats n brains in h and plays ticks ticks with no latency: each sees
// the state after the previous tick. It returns the ticks each bot sent an
// input on, and refuses any input or event the match would refuse.
func bots(t *testing.T, h *gametest.Harness, n, ticks int) (inputs []int) {
	t.Helper()
	cl, err := NewClient(h.Match.Describe())
	require.NoError(t, err)
	brains := make([]game.Brain, n)
	for i := range brains {
		require.NoError(t, h.Join(game.PlayerID(i+1), fmt.Sprintf("bot%d", i+1)))
		brains[i] = Def.Brain(uint64(i + 1))
	}
	inputs = make([]int, n)
	var m game.Move
	for range ticks {
		s := &game.Scene{Game: Def.Name, Describe: h.Match.Describe(), Client: cl, Ready: true, Newest: h.State()}
		s.Shown = s.Newest
		for i, b := range brains {
			s.Self = game.PlayerID(i + 1)
			m.Reset()
			b.Act(s, &m)
			if len(m.Input) > 0 {
				inputs[i]++
				require.NoError(t, h.Input(s.Self, m.Input), "bot %d", s.Self)
			}
			for _, e := range m.Events {
				_, err := h.Event(s.Self, e.Name, e.Payload)
				require.NoError(t, err, "bot %d: %s", s.Self, e.Name)
			}
		}
		h.Step()
	}
	return inputs
}

// TestBrainPaintsPlausibly: bots paint only valid cells at no more than
// the cooldown allows (no event is refused), at a person's rate, and send
// inputs only while their cursors move.
func TestBrainPaintsPlausibly(t *testing.T) {
	h := newHarness(t, nil)
	const n, seconds = 8, 60
	inputs := bots(t, h, n, seconds*60)
	st := h.State()
	assert.Greater(t, st.Len(KindCell), 200, "shapes get painted")
	for i := range n {
		row := cursor(t, h, game.PlayerID(i+1))
		rate := float64(row[CPaints]) / seconds
		assert.True(t, rate > 1 && rate < 60.0/12, "bot %d paints %.1f cells a second: between 1 and half the cooldown's rate", i+1, rate)
		assert.Less(t, inputs[i], seconds*60, "bot %d sends no input while it stands and paints", i+1)
		assert.Greater(t, inputs[i], seconds*60/4, "bot %d moves between cells", i+1)
	}
}

// TestBotsClearAFullCanvas: on a small canvas, bots fill three quarters of
// it and vote to clear it, again and again.
func TestBotsClearAFullCanvas(t *testing.T) {
	h := newHarness(t, map[string]string{"width": "16", "height": "12"})
	bots(t, h, 16, 60*60)
	cleared := 0
	for _, e := range h.Emitted {
		if e.Name == EventCleared {
			cleared++
		}
	}
	assert.GreaterOrEqual(t, cleared, 2)
}

// TestBrainIsDeterministic: the same seed and the same scenes give the same
// moves; another seed other ones.
func TestBrainIsDeterministic(t *testing.T) {
	play := func(seed uint64) []string {
		b := Def.Brain(seed)
		s := &game.Scene{Game: Def.Name} // a cheap bot: no state, no describe
		var out []string
		var m game.Move
		for range 2000 {
			m.Reset()
			b.Act(s, &m)
			out = append(out, fmt.Sprint(m.Input, m.Events))
		}
		return out
	}
	assert.Equal(t, play(3), play(3))
	assert.NotEqual(t, play(3), play(4))
}

// TestCheapBrainIsValid: a bot that sees no state plays the default
// canvas with valid inputs and paints.
func TestCheapBrainIsValid(t *testing.T) {
	b := Def.Brain(9)
	s := &game.Scene{Game: Def.Name}
	var m game.Move
	paints := 0
	for range 3000 {
		m.Reset()
		b.Act(s, &m)
		if len(m.Input) > 0 {
			require.NoError(t, Def.CheckInput(m.Input))
		}
		for _, e := range m.Events {
			require.Equal(t, EventPaint, e.Name, "it cannot see the canvas, so it never votes")
			x, y, colour, err := DecodePaint(e.Payload)
			require.NoError(t, err)
			require.True(t, x < 64 && y < 48 && colour < Colours)
			paints++
		}
	}
	assert.Greater(t, paints, 50)
}

package canvas

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
)

var cfg60 = game.Config{TickRate: 60, Capacity: 64, Seed: 7}

func newHarness(t *testing.T, params map[string]string, players ...string) *gametest.Harness {
	t.Helper()
	c := cfg60
	c.Params = params
	h, err := gametest.New(Def, c)
	require.NoError(t, err)
	for i, name := range players {
		require.NoError(t, h.Join(game.PlayerID(i+1), name))
	}
	return h
}

func cursor(t *testing.T, h *gametest.Harness, p game.PlayerID) []int64 {
	t.Helper()
	row := h.State().Get(KindCursor, uint32(p))
	require.NotNil(t, row, "player %d has a cursor", p)
	return row
}

func cell(h *gametest.Harness, x, y int) (colour int64, painted bool) {
	row := h.State().Get(KindCell, uint32(y*64+x))
	if row == nil {
		return 0, false
	}
	return row[CellColour], true
}

func TestDefIsValid(t *testing.T) {
	require.NoError(t, Def.Validate())
	assert.False(t, Def.TickInputs, "cursors move by inputs sent only when they move")
	assert.Equal(t, []string{"paint", "clear"}, Def.Events)
}

func TestParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   Canvas // Width, Height, Cooldown; zero: refused
	}{
		{"defaults", nil, Canvas{Width: 64, Height: 48, Cooldown: 6}},
		{"all set", map[string]string{"width": "256", "height": "1", "cooldown": "0"}, Canvas{Width: 256, Height: 1, Cooldown: 0}},
		{"width 0", map[string]string{"width": "0"}, Canvas{}},
		{"height above 256", map[string]string{"height": "257"}, Canvas{}},
		{"negative cooldown", map[string]string{"cooldown": "-1"}, Canvas{}},
		{"not a number", map[string]string{"cooldown": "fast"}, Canvas{}},
	}
	for _, tc := range tests {
		c, err := settings(game.Config{TickRate: 60, Params: tc.params})
		if tc.want.Width == 0 {
			assert.Error(t, err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, []int{tc.want.Width, tc.want.Height, int(tc.want.Cooldown)}, []int{c.Width, c.Height, int(c.Cooldown)}, tc.name)
	}
}

func TestDescribeRoundTrips(t *testing.T) {
	c, err := settings(game.Config{TickRate: 30, Params: map[string]string{"width": "200", "height": "100", "cooldown": "9"}})
	require.NoError(t, err)
	b := c.AppendBinary(nil)
	assert.Len(t, b, 11+3*Colours)
	got, err := ParseCanvas(b)
	require.NoError(t, err)
	assert.Equal(t, c, *got)
	_, err = ParseCanvas(append(b, 1, 2, 3))
	assert.NoError(t, err, "a client ignores bytes a later version adds")
	for _, bad := range [][]byte{nil, b[:len(b)-1], append([]byte{2}, b[1:]...), append(append([]byte{}, b[:1]...), append([]byte{0, 0}, b[3:]...)...)} {
		_, err := ParseCanvas(bad)
		assert.ErrorIs(t, err, ErrDescribe)
	}
}

func TestInputsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"a cursor", AppendInput(nil, 100, 200, 15), true},
		{"the largest canvas's corner", AppendInput(nil, MaxSide*Scale-1, MaxSide*Scale-1, 0), true},
		{"empty", nil, false},
		{"short", AppendInput(nil, 1, 2, 3)[:4], false},
		{"long", append(AppendInput(nil, 1, 2, 3), 0), false},
		{"colour 16", AppendInput(nil, 1, 2, 16), false},
		{"x past any canvas", AppendInput(nil, MaxSide*Scale, 0, 0), false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.ok, checkInput(tc.data) == nil, tc.name)
	}
}

func TestCursorsMove(t *testing.T) {
	h := newHarness(t, nil, "ann", "bob")
	row := cursor(t, h, 1)
	assert.Equal(t, []int64{32 * Scale, 24 * Scale, 1, 0, 0}, row, "a new cursor is in the middle, in a colour of its own")
	assert.Equal(t, int64(2), cursor(t, h, 2)[CColour])

	tests := []struct {
		name         string
		x, y         uint16
		colour       uint8
		wantX, wantY int64
	}{
		{"moves", 5, 7, 3, 5, 7},
		{"to the last unit", 64*Scale - 1, 48*Scale - 1, 0, 64*Scale - 1, 48*Scale - 1},
		{"clamped to the canvas", 64 * Scale, 200 * Scale, 15, 64*Scale - 1, 48*Scale - 1},
	}
	for _, tc := range tests {
		require.NoError(t, h.Input(1, AppendInput(nil, tc.x, tc.y, tc.colour)), tc.name)
		h.Step()
		row := cursor(t, h, 1)
		assert.Equal(t, []int64{tc.wantX, tc.wantY, int64(tc.colour)}, row[:3], tc.name)
	}
	assert.ErrorIs(t, h.Input(1, AppendInput(nil, 1, 1, Colours)), gametest.ErrInput)
	h.Step()
	assert.Equal(t, int64(15), cursor(t, h, 1)[CColour], "a refused input changes nothing")
	assert.Equal(t, []int64{32 * Scale, 24 * Scale, 2}, cursor(t, h, 2)[:3], "others' cursors stay")
}

func TestPainting(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		err     error // nil: painted
	}{
		{"a cell", AppendPaint(nil, 3, 4, 5), nil},
		{"the last cell in white", AppendPaint(nil, 63, 47, 0), nil},
		{"x off the canvas", AppendPaint(nil, 64, 0, 1), ErrOutside},
		{"y off the canvas", AppendPaint(nil, 0, 48, 1), ErrOutside},
		{"colour 16", AppendPaint(nil, 0, 0, 16), ErrColour},
		{"short payload", AppendPaint(nil, 0, 0, 1)[:4], ErrPayload},
		{"empty payload", nil, ErrPayload},
	}
	for _, tc := range tests {
		h := newHarness(t, nil, "ann")
		h.Step()
		reply, err := h.Event(1, EventPaint, tc.payload)
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, tc.name)
			assert.Zero(t, h.State().Len(KindCell), tc.name)
			assert.Zero(t, cursor(t, h, 1)[CPaints], tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, uint32(1+6), binary.BigEndian.Uint32(reply), "%s: the reply is the tick it may paint again", tc.name)
		x, y, colour, _ := DecodePaint(tc.payload)
		got, ok := cell(h, x, y)
		assert.True(t, ok, tc.name)
		assert.Equal(t, int64(colour), got, tc.name)
		assert.Equal(t, 1, h.State().Len(KindCell), "%s: only painted cells are replicated", tc.name)
		assert.Equal(t, int64(1), cursor(t, h, 1)[CPaints], tc.name)
	}
	h := newHarness(t, nil, "ann")
	_, err := h.Event(1, "spray", nil)
	assert.ErrorIs(t, err, game.ErrUnknownEvent)
	_, err = h.Match.Event(h.Ctx, 9, EventPaint, AppendPaint(nil, 0, 0, 0))
	assert.Error(t, err, "a player that is not seated")
	_, err = h.Match.Event(h.Ctx, 1, "spray", nil)
	assert.ErrorIs(t, err, game.ErrUnknownEvent)
}

func TestCooldown(t *testing.T) {
	h := newHarness(t, map[string]string{"cooldown": "3"}, "ann", "bob")
	paint := func(p game.PlayerID, x int) error {
		_, err := h.Event(p, EventPaint, AppendPaint(nil, x, 0, 1))
		return err
	}
	require.NoError(t, paint(1, 0))
	assert.ErrorIs(t, paint(1, 1), ErrTooFast, "twice in a tick")
	assert.ErrorContains(t, paint(1, 1), "wait 3 more ticks")
	require.NoError(t, paint(2, 1), "the cooldown is per player")
	for range 2 {
		h.Step()
		assert.ErrorIs(t, paint(1, 1), ErrTooFast, "tick %d", h.Ctx.Tick())
	}
	h.Step()
	require.NoError(t, paint(1, 1), "three ticks later")
	assert.Equal(t, int64(2), cursor(t, h, 1)[CPaints], "refusals do not count")

	h = newHarness(t, map[string]string{"cooldown": "0"}, "ann")
	require.NoError(t, paint(1, 0))
	require.NoError(t, paint(1, 0), "no cooldown: the event budget is the only limit")
}

func TestRepaintAndLateJoiners(t *testing.T) {
	h := newHarness(t, nil, "ann")
	_, err := h.Event(1, EventPaint, AppendPaint(nil, 10, 20, 4))
	require.NoError(t, err)
	for range 6 {
		h.Step()
	}
	_, err = h.Event(1, EventPaint, AppendPaint(nil, 10, 20, 9))
	require.NoError(t, err)
	got, _ := cell(h, 10, 20)
	assert.Equal(t, int64(9), got, "a repaint changes the colour")
	assert.Equal(t, []uint32{20*64 + 10}, ids(h.State(), KindCell), "the id is y*width+x")

	require.NoError(t, h.Join(2, "bob"))
	h.Leave(1)
	t2 := h.State()
	assert.Equal(t, []uint32{2}, ids(t2, KindCursor), "the cursor of a player who left is gone")
	assert.Equal(t, 1, t2.Len(KindCell), "what it painted stays")
	require.Error(t, h.Join(2, "bob"), "a seat is taken once")
	h.Leave(7) // nobody: nothing happens
	assert.Equal(t, 1, h.State().Len(KindCursor))
}

func ids(t *game.Table, k int) []uint32 {
	ids, _ := t.Rows(k)
	return append([]uint32(nil), ids...)
}

func TestVotesClearTheCanvas(t *testing.T) {
	h := newHarness(t, nil, "ann", "bob", "cy")
	_, err := h.Event(1, EventPaint, AppendPaint(nil, 1, 1, 1))
	require.NoError(t, err)
	vote := func(p game.PlayerID, payload ...byte) {
		_, err := h.Event(p, EventClear, payload)
		require.NoError(t, err)
	}
	vote(1)
	vote(2, 1)
	h.Step()
	assert.Equal(t, 1, h.State().Len(KindCell), "two of three voted")
	assert.Equal(t, int64(1), cursor(t, h, 2)[CVote])
	vote(2, 0)
	assert.Equal(t, int64(0), cursor(t, h, 2)[CVote], "a vote withdrawn")
	_, err = h.Event(2, EventClear, []byte{1, 1})
	assert.ErrorIs(t, err, ErrPayload)
	vote(2)
	h.Leave(3) // the last one not voting leaves
	h.Step()
	assert.Zero(t, h.State().Len(KindCell), "everybody seated voted")
	require.Len(t, h.Emitted, 1)
	assert.Equal(t, EventCleared, h.Emitted[0].Name)
	assert.Empty(t, h.Emitted[0].Payload)
	assert.Zero(t, h.Emitted[0].To, "a broadcast")
	assert.Zero(t, cursor(t, h, 1)[CVote], "votes start afresh")
	h.Step()
	assert.Len(t, h.Emitted, 1, "cleared once")
}

// scribble is a script of players moving, painting (some too fast, some
// off the canvas), voting, leaving and joining.
func scribble(seed uint64) func() gametest.Script {
	return func() gametest.Script {
		rng := rand.New(rand.NewPCG(seed, 5))
		next := game.PlayerID(100)
		return func(tick uint32, h *gametest.Harness) {
			for p := game.PlayerID(1); p <= 16; p++ {
				if rng.IntN(3) == 0 {
					_ = h.Input(p, AppendInput(nil, uint16(rng.IntN(70*Scale)), uint16(rng.IntN(50*Scale)), uint8(rng.IntN(Colours))))
				}
				if rng.IntN(4) == 0 {
					_, _ = h.Event(p, EventPaint, AppendPaint(nil, rng.IntN(66), rng.IntN(50), uint8(rng.IntN(Colours+1))))
				}
				if rng.IntN(200) == 0 {
					_, _ = h.Event(p, EventClear, []byte{byte(rng.IntN(2))})
				}
			}
			if rng.IntN(100) == 0 {
				h.Leave(game.PlayerID(1 + rng.IntN(16)))
				if err := h.Join(next, "late"); err != nil {
					panic(err)
				}
				next++
			}
		}
	}
}

// TestDeterministicThroughSaveAndRestore: the same script gives the same
// state at every tick, played twice and through a save and restore.
func TestDeterministicThroughSaveAndRestore(t *testing.T) {
	require.NoError(t, gametest.CheckDeterminism(Def, cfg60, 16, 3000, 1234, scribble(1)))
}

func TestSaveRestores(t *testing.T) {
	h := newHarness(t, map[string]string{"cooldown": "4"}, "ann", "bob", "cy")
	script := scribble(2)()
	for tick := uint32(1); tick <= 500; tick++ {
		script(tick, h)
		h.Step()
	}
	_, _ = h.Event(2, EventClear, nil)
	saved := h.Match.Save(nil)
	m, err := Def.Restore(h.Cfg, saved)
	require.NoError(t, err)
	assert.Equal(t, saved, m.Save(nil), "everything is saved: grid, cursors, cooldowns, paint counts, votes")
	assert.Equal(t, h.Match.Describe(), m.Describe())
	back := game.NewTable(Schema)
	m.Replicate(back)
	assert.True(t, h.State().Equal(back))

	other := h.Cfg
	other.Params = map[string]string{"cooldown": "5"}
	_, err = Def.Restore(other, saved)
	assert.ErrorIs(t, err, ErrSave, "other settings")
	bad := func(edit func(b []byte) []byte) []byte { return edit(append([]byte(nil), saved...)) }
	head := 1 + 6 + 64*48 + 2
	for name, b := range map[string][]byte{
		"truncated":       saved[:len(saved)-1],
		"trailing byte":   append(append([]byte(nil), saved...), 0),
		"another version": bad(func(b []byte) []byte { b[0] = 2; return b }),
		"a cell colour":   bad(func(b []byte) []byte { b[7] = Colours + 1; return b }),
		"a cursor colour": bad(func(b []byte) []byte { b[head+8] = Colours; return b }),
		"a cursor off":    bad(func(b []byte) []byte { b[head+4] = 0xff; return b }),
		"a vote of 2":     bad(func(b []byte) []byte { b[head+17] = 2; return b }),
		"players unsorted": bad(func(b []byte) []byte {
			copy(b[head+18:head+22], b[head:head+4])
			return b
		}),
	} {
		_, err := Def.Restore(h.Cfg, b)
		assert.ErrorIs(t, err, ErrSave, name)
	}
}

// TestClientPredictsWhatTheServerDoes: the client's Predict, fed the same
// inputs, puts the own cursor where the server's Input does.
func TestClientPredictsWhatTheServerDoes(t *testing.T) {
	h := newHarness(t, map[string]string{"width": "20", "height": "10"}, "ann")
	cl, err := NewClient(h.Match.Describe())
	require.NoError(t, err)
	pred := game.NewTable(Schema)
	pred.CopyFrom(h.State())
	rng := rand.New(rand.NewPCG(2, 2))
	for tick := uint32(1); tick <= 300; tick++ {
		in := AppendInput(nil, uint16(rng.IntN(30*Scale)), uint16(rng.IntN(30*Scale)), uint8(rng.IntN(Colours)))
		require.NoError(t, h.Input(1, in))
		cl.Predict(pred, 1, game.Input{Data: in}, tick)
		h.Step()
		require.Equal(t, cursor(t, h, 1)[:3], pred.Get(KindCursor, 1)[:3], "tick %d", tick)
	}
	cl.Predict(pred, 2, game.Input{Data: AppendInput(nil, 1, 1, 1)}, 301) // nobody: nothing
	assert.Equal(t, 1, pred.Len(KindCursor))
}

func TestSketch(t *testing.T) {
	h := newHarness(t, map[string]string{"cooldown": "0"}, "ann")
	for _, x := range []int{0, 1, 2, 4, 63} {
		_, err := h.Event(1, EventPaint, AppendPaint(nil, x, 0, 5))
		require.NoError(t, err)
	}
	_, err := h.Event(1, EventPaint, AppendPaint(nil, 0, 1, 5)) // next row: not the same run as (63, 0)
	require.NoError(t, err)
	var s game.Sketch
	Def.Sketch(h.Match.Describe(), h.State(), &s)
	assert.Equal(t, 64.0, s.Width)
	assert.Equal(t, 48.0, s.Height)
	var rects []game.Shape
	for _, sh := range s.Shapes {
		if sh.Kind == "rect" {
			rects = append(rects, sh)
		}
	}
	require.Len(t, rects, 5, "the board, then runs of one colour along a row")
	assert.Equal(t, "#1e222b", rects[0].Color)
	assert.Equal(t, []float64{0, 0, 3}, []float64{rects[1].X, rects[1].Y, rects[1].W})
	assert.Equal(t, "#e50000", rects[1].Color)
	assert.Equal(t, []float64{4, 63, 0}, []float64{rects[2].X, rects[3].X, rects[4].X})
	last := s.Shapes[len(s.Shapes)-1]
	assert.Equal(t, game.Shape{Kind: "circle", X: 32, Y: 24, R: 0.5, Color: "#e4e4e4", Player: 1, Fill: true}, last)
}

package draw

import (
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
	"github.com/arenaserver/arena/games/canvas"
)

// renderer is client/render.Renderer, copied: draw must not import the
// client's shell (deps_test.go), which does not build in every worktree.
type renderer interface {
	Size(s *game.Scene) (w, h int)
	Controls(s *game.Scene, zoom float64, m *game.Move)
	Draw(dst *ebiten.Image, s *game.Scene, zoom float64)
}

var _ renderer = (*Renderer)(nil)

func defaultCanvas(t *testing.T) *canvas.Canvas {
	c, known := canvas.SceneCanvas(&game.Scene{})
	require.False(t, known)
	return c
}

func TestLayout(t *testing.T) {
	c := defaultCanvas(t)
	w, h := New().Size(&game.Scene{})
	assert.Equal(t, []int{64 * Cell, 48*Cell + Bar}, []int{w, h})

	tests := []struct {
		name   string
		px, py float64
		x, y   uint16
		on     bool
	}{
		{"the first cell's corner", 0, 0, 0, 0, true},
		{"a cell's middle", 6, 18, 8, 24, true},
		{"the last pixel", 64*Cell - 0.5, 48*Cell - 0.5, 64*canvas.Scale - 1, 48*canvas.Scale - 1, true},
		{"right of the canvas", 64 * Cell, 0, 0, 0, false},
		{"on the bar", 10, 48*Cell + 1, 0, 0, false},
		{"left of the view", -1, 5, 0, 0, false},
	}
	for _, tc := range tests {
		x, y, on := At(c, tc.px, tc.py)
		assert.Equal(t, []any{tc.x, tc.y, tc.on}, []any{x, y, on}, tc.name)
	}
	top := float64(48 * Cell)
	assert.Equal(t, 0, SwatchAt(c, 0, top+1))
	assert.Equal(t, 15, SwatchAt(c, 64*Cell-1, top+Bar-1))
	assert.Equal(t, 8, SwatchAt(c, 32*Cell, top+10))
	assert.Equal(t, -1, SwatchAt(c, 5, top-1), "on the canvas")
	assert.Equal(t, -1, SwatchAt(c, 5, top+Bar), "below the bar")

	narrow := *c
	narrow.Width = 2
	w, _ = New().Size(&game.Scene{Client: &canvas.Client{Canvas: narrow}})
	assert.Equal(t, canvas.Colours*Swatch, w, "a narrow canvas keeps a usable palette")
	assert.Equal(t, 15, SwatchAt(&narrow, float64(w)-1, top+1))
}

func TestPaintInterval(t *testing.T) {
	c := defaultCanvas(t)
	assert.Equal(t, 7*time.Second/60, PaintInterval(c), "the cooldown and a tick")
	c.Cooldown, c.TickRate = 0, 0
	assert.Equal(t, time.Second, PaintInterval(c), "no tick rate: one tick a second")
}

func TestPixels(t *testing.T) {
	h, err := gametest.New(canvas.Def, game.Config{TickRate: 60, Capacity: 4, Params: map[string]string{"width": "3", "height": "2", "cooldown": "0"}})
	require.NoError(t, err)
	require.NoError(t, h.Join(1, "ann"))
	_, err = h.Event(1, canvas.EventPaint, canvas.AppendPaint(nil, 2, 1, 5))
	require.NoError(t, err)
	c, err := canvas.ParseCanvas(h.Match.Describe())
	require.NoError(t, err)
	pix := make([]byte, 4*c.Cells())
	Pixels(c, h.State(), pix)
	u, red := canvas.Unpainted, canvas.Palette[5]
	want := []byte{}
	for range 5 {
		want = append(want, u.R, u.G, u.B, 0xff)
	}
	want = append(want, red.R, red.G, red.B, 0xff)
	assert.Equal(t, want, pix)
	Pixels(c, nil, pix)
	assert.Equal(t, want[:4], pix[20:], "no snapshot: nothing painted")
}

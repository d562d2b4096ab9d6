package render

import (
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/game"
)

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 100, 6, 7, 8, 9}
	assert.Equal(t, time.Duration(5), Quantile(ds, 0.5))
	assert.Equal(t, time.Duration(100), Quantile(ds, 0.99))
	assert.Equal(t, time.Duration(100), Quantile(ds, 1))
	assert.Zero(t, Quantile(nil, 0.5))
	assert.Equal(t, time.Duration(5), ds[0], "the input is not reordered")
}

func TestZoomIsBounded(t *testing.T) {
	s := core.New(core.Config{})
	defer s.Close()
	g := New(s, nil, Options{Zoom: 0.5})
	w, h := g.Size()
	assert.Equal(t, 640, w)
	assert.Equal(t, 360, h)
	w, h = g.Layout(0, 0)
	assert.Equal(t, ScreenW, w, "the start screen is laid out at 1280×720")
	assert.Equal(t, ScreenH, h)
	g = New(s, nil, Options{Zoom: 9})
	w, _ = g.Size()
	assert.Equal(t, 2*ScreenW, w)
}

// fakeRenderer counts how it is made and used.
type fakeRenderer struct{ id int }

func (f *fakeRenderer) Size(*game.Scene) (int, int)               { return 200, 100 }
func (f *fakeRenderer) Controls(*game.Scene, float64, *game.Move) {}
func (f *fakeRenderer) Draw(*ebiten.Image, *game.Scene, float64)  {}

// TestARendererPerMembership: the shell makes the room's game's renderer
// when a membership starts, keeps it for the membership, and makes a new
// one for the next; a game without a renderer gets none.
func TestARendererPerMembership(t *testing.T) {
	made := 0
	g := &Game{renderers: Renderers{"toy": func() Renderer { made++; return &fakeRenderer{id: made} }}}
	scene := &game.Scene{Game: "toy"}
	v := &core.View{Game: "toy", Membership: 1, Scene: scene}
	r := g.renderer(v)
	require.NotNil(t, r)
	assert.Same(t, r, g.renderer(v), "kept for the membership")
	assert.Equal(t, 1, made)
	v.Membership = 2
	r2 := g.renderer(v)
	assert.NotSame(t, r, r2, "a new one for the next membership")
	assert.Equal(t, 2, r2.(*fakeRenderer).id)
	assert.Nil(t, g.renderer(&core.View{}), "none outside a room")
	assert.Nil(t, g.renderer(&core.View{Game: "chess", Membership: 3, Scene: &game.Scene{Game: "chess"}}), "none for a game it cannot draw")
	assert.Equal(t, 2, made)
}

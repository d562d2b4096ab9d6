package render

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/arenaserver/arena/client/core"
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
	assert.Equal(t, Palette[0], PlayerColor(sim.PlayerID(len(Palette)+1)), "the palette repeats")
	seen := map[[4]uint8]bool{}
	for _, c := range append(Palette, WallColor, Floor, Background) {
		seen[[4]uint8{c.R, c.G, c.B, c.A}] = true
	}
	assert.Len(t, seen, len(Palette)+3, "every colour the window test looks for is distinct")
}

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
	g := New(s, Options{Zoom: 0.5})
	w, h := g.Size()
	assert.Equal(t, 640, w)
	assert.Equal(t, 360, h)
	g = New(s, Options{Zoom: 9})
	w, _ = g.Size()
	assert.Equal(t, 2*ScreenW, w)
}

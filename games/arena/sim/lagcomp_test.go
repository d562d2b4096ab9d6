package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLagCompensation: shooter 1 stands at (100, 600) aiming right; target 2
// stands 30 units to its right, in the line of fire, until tick aligned,
// then walks (down, or up into the line) for walk ticks; then the shooter
// fires once with a view tick relative to aligned. At 60 Hz MaxRewind is 12
// ticks (200 ms); a target moves 27 units a tick and the reach of a hit is
// 120 units.
func TestLagCompensation(t *testing.T) {
	const noView = -1 << 30
	tests := []struct {
		name     string
		startDY  int32   // target's offset from the line of fire before walking
		walk     Buttons // direction the target walks after aligned
		walkFor  int     // ticks it walks
		view     int     // view tick relative to aligned; noView for 0
		joinLate bool    // the target joins right at aligned
		want     uint8   // target's health at the end
	}{
		{"present: the target walked away, miss", 0, ButtonDown, 10, noView, false, 100},
		{"shooter saw the target in line: hit", 0, ButtonDown, 10, 0, false, 75},
		{"a view tick a little later still sees it: hit", 0, ButtonDown, 10, 1, false, 75},
		{"rewind is bounded by MaxRewind: miss", 0, ButtonDown, 30, 0, false, 100},
		{"present: the target walked into line, hit", 10 * 27, ButtonUp, 10, noView, false, 75},
		{"shooter saw the target elsewhere: miss", 10 * 27, ButtonUp, 10, 0, false, 100},
		{"a view tick in the future is the present", 0, ButtonDown, 10, 100, false, 100},
		{"a target not yet in the world the shooter saw: miss", 0, 0, 5, -10, true, 100},
		{"a target that joined and stood still: present view hits", 0, 0, 5, noView, true, 75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, 1)
			if !tc.joinLate {
				_, err := w.AddPlayer(2)
				require.NoError(t, err)
			}
			place := func() {
				w.Player(1).X, w.Player(1).Y = u(100), u(600)
				w.Player(2).X, w.Player(2).Y = u(130), u(600)+tc.startDY
			}
			if !tc.joinLate {
				place()
			}
			for range 20 {
				w.Step()
			}
			if tc.joinLate {
				_, err := w.AddPlayer(2)
				require.NoError(t, err)
				place()
			}
			aligned := w.Tick
			for range tc.walkFor {
				w.SetInput(2, Input{Buttons: tc.walk})
				w.Step()
			}
			w.SetInput(2, Input{})
			in := Input{Buttons: ButtonFire, Aim: 0}
			if tc.view != noView {
				in.ViewTick = uint32(int(aligned) + tc.view)
			}
			w.SetInput(1, in)
			w.Step()
			require.Len(t, w.Projectiles, 1, "the shot is fired and not yet resolved")
			w.SetInput(1, Input{})
			for range 10 {
				w.Step()
			}
			assert.Equal(t, tc.want, w.Player(2).Health)
		})
	}
}

func TestRewindOfAShot(t *testing.T) {
	w := testWorld(t, 1)
	for range 100 {
		w.Step()
	}
	tests := []struct {
		view, want uint32
	}{
		{0, 0},                           // unknown
		{w.Tick + 1, 0},                  // the tick being stepped: no rewind
		{w.Tick + 50, 0},                 // a claim from the future
		{w.Tick - 4, 5},                  // five ticks before the one being stepped
		{w.Tick - 60, w.Rules.MaxRewind}, // bounded
		{1, w.Rules.MaxRewind},
	}
	for _, tc := range tests {
		w.Tick++ // rewind is computed during Step, after the tick advanced
		assert.Equal(t, tc.want, w.rewind(tc.view), "view tick %d at tick %d", tc.view, w.Tick)
		w.Tick--
	}
	assert.Equal(t, uint32(12), NewRules(60).MaxRewind, "200 ms at 60 Hz")
	assert.Equal(t, uint32(6), NewRules(30).MaxRewind)
}

// TestDeterminismWithViewTicks replays a match whose players report view
// ticks (so shots rewind) twice and compares hashes; the rewinds must also
// matter, or the test proves nothing about them.
func TestDeterminismWithViewTicks(t *testing.T) {
	const ticks = 5000
	a := runMatchView(ticks, 42, 9)
	b := runMatchView(ticks, 42, 9)
	for i := range a {
		require.Equal(t, a[i], b[i], "worlds diverged at tick %d", i+1)
	}
	assert.NotEqual(t, runMatchView(ticks, 42, 0)[ticks-1], a[ticks-1], "rewound shots should change the match")
}

func TestPastRingDoesNotAllocate(t *testing.T) {
	w := NewWorld(Config{Rules: NewRules(60), Arena: DefaultArena(), Seed: 1})
	for id := PlayerID(1); id <= 16; id++ {
		_, _ = w.AddPlayer(id)
	}
	for range 100 {
		w.Step()
	}
	assert.Zero(t, testing.AllocsPerRun(100, w.remember))
}

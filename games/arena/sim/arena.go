package sim

// Scale is the number of fixed-point units in one world unit.
const Scale = 8

// AimSteps is the number of aim angles in a full turn. Aim 0 points along +x,
// AimSteps/4 along +y (down on screen).
const AimSteps = 1024

// Rect is an axis-aligned rectangle in fixed-point units; X, Y is its
// top-left corner.
type Rect struct{ X, Y, W, H int32 }

// Contains reports whether the point x, y lies inside r (edges included on
// the top-left, excluded on the bottom-right).
func (r Rect) Contains(x, y int32) bool {
	return x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H
}

// Point is a position in fixed-point units.
type Point struct{ X, Y int32 }

// Arena is the static map: its size, walls and spawn points. It never
// changes during a match and is not part of a snapshot.
type Arena struct {
	Width, Height int32 // fixed-point units
	Walls         []Rect
	Spawns        []Point
}

func u(v int32) int32 { return v * Scale }

// DefaultArena is the map every room plays: 1280×720 world units, a central
// cross of cover, four pillars and eight spawn points near the edges.
func DefaultArena() Arena {
	return Arena{
		Width:  u(1280),
		Height: u(720),
		Walls: []Rect{
			{u(600), u(280), u(80), u(160)},  // centre block
			{u(440), u(340), u(120), u(40)},  // centre arm west
			{u(720), u(340), u(120), u(40)},  // centre arm east
			{u(240), u(140), u(40), u(120)},  // pillar NW
			{u(1000), u(140), u(40), u(120)}, // pillar NE
			{u(240), u(460), u(40), u(120)},  // pillar SW
			{u(1000), u(460), u(40), u(120)}, // pillar SE
			{u(560), u(80), u(160), u(32)},   // north bar
			{u(560), u(608), u(160), u(32)},  // south bar
		},
		Spawns: []Point{
			{u(80), u(80)}, {u(640), u(40)}, {u(1200), u(80)},
			{u(1220), u(360)}, {u(1200), u(640)}, {u(640), u(680)},
			{u(80), u(640)}, {u(60), u(360)},
		},
	}
}

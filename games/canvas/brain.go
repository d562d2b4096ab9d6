package canvas

import (
	"math/rand/v2"

	"github.com/arenaserver/arena/game"
)

// brain is a bot painter. It picks a small shape (a line, a square's
// outline, a filled block or a cross) somewhere on the canvas and a colour,
// glides its cursor from cell to cell along the shape and paints each cell
// once there, two to four cooldowns apart, as a person clicking would. It
// sends an input only while its cursor moves or changes colour. When it
// sees three quarters of the canvas painted, it votes to clear it. Its
// choices follow from its seed and what it sees; a cheap bot, which sees no
// state, never votes.
type brain struct {
	rng    *rand.Rand
	canvas *Canvas
	known  bool // canvas came from the room, not the defaults
	tick   int  // Act calls
	x, y   int  // cursor, in 1/Scale cell; -1 before the first Act
	colour uint8
	shown  int      // the colour the server was last sent; -1 none
	todo   [][2]int // cells of the current shape still to paint
	ready  int      // the Act call from which it may paint again
	voted  bool
}

func newBrain(seed uint64) game.Brain {
	return &brain{rng: rand.New(rand.NewPCG(seed, 0xca9a5)), x: -1, shown: -1}
}

// glide is how far the cursor moves per tick on each axis: a quarter cell.
const glide = Scale / 4

func (b *brain) Act(s *game.Scene, m *game.Move) {
	b.tick++
	if !b.known {
		b.canvas, b.known = SceneCanvas(s)
	}
	c := b.canvas
	if b.x < 0 {
		b.x, b.y = c.Width*Scale/2, c.Height*Scale/2 // where the match seats a cursor
	}
	b.vote(s, m)
	if len(b.todo) == 0 {
		b.todo = b.shape(b.todo[:0])
		b.colour = uint8(b.rng.IntN(Colours))
	}
	cell := b.todo[0]
	tx, ty := cell[0]*Scale+Scale/2, cell[1]*Scale+Scale/2
	at := b.x == tx && b.y == ty
	if !at || int(b.colour) != b.shown {
		b.x += max(-glide, min(glide, tx-b.x))
		b.y += max(-glide, min(glide, ty-b.y))
		m.Input = AppendInput(m.Input, uint16(b.x), uint16(b.y), b.colour)
		b.shown = int(b.colour)
	}
	if !at || b.tick < b.ready {
		return
	}
	m.Emit(EventPaint, AppendPaint(nil, cell[0], cell[1], b.colour))
	b.todo = b.todo[1:]
	cd := max(int(c.Cooldown), 3)
	b.ready = b.tick + 2*cd + b.rng.IntN(2*cd+1)
}

// SceneCanvas is the canvas of the scene's room, or the default one (and
// false) when the scene does not say yet. Brains and renderers use it.
func SceneCanvas(s *game.Scene) (*Canvas, bool) {
	if c, ok := s.Client.(*Client); ok {
		return &c.Canvas, true
	}
	if c, err := ParseCanvas(s.Describe); err == nil {
		return c, true
	}
	c, _ := settings(game.Config{TickRate: 60})
	return &c, false
}

// shape appends the cells of a new shape to dst, in drawing order, clipped
// to the canvas; its first cell is always on it.
func (b *brain) shape(dst [][2]int) [][2]int {
	c := b.canvas
	n := 2 + b.rng.IntN(4) // cells a side
	x0, y0 := b.rng.IntN(c.Width), b.rng.IntN(c.Height)
	add := func(x, y int) {
		if x0+x >= 0 && x0+x < c.Width && y0+y >= 0 && y0+y < c.Height {
			dst = append(dst, [2]int{x0 + x, y0 + y})
		}
	}
	switch b.rng.IntN(4) {
	case 0: // a line in one of eight directions
		dx, dy := b.rng.IntN(3)-1, b.rng.IntN(3)-1
		if dx == 0 && dy == 0 {
			dx = 1
		}
		for i := range n + 2 {
			add(i*dx, i*dy)
		}
	case 1: // a square's outline, walked round
		for i := range n - 1 {
			add(i, 0)
		}
		for i := range n - 1 {
			add(n-1, i)
		}
		for i := range n - 1 {
			add(n-1-i, n-1)
		}
		for i := range n - 1 {
			add(0, n-1-i)
		}
	case 2: // a filled block, row after row, back and forth
		for y := range n {
			for i := range n {
				if y%2 == 0 {
					add(i, y)
				} else {
					add(n-1-i, y)
				}
			}
		}
	default: // a cross, from its middle
		add(0, 0)
		for i := 1; i <= n/2+1; i++ {
			add(i, 0)
			add(-i, 0)
			add(0, i)
			add(0, -i)
		}
	}
	return dst
}

// vote votes to clear once the bot sees three quarters of the canvas
// painted, and again after the next clear.
func (b *brain) vote(s *game.Scene, m *game.Move) {
	if !s.Ready || s.Newest == nil {
		return
	}
	full := s.Newest.Len(KindCell)*4 >= b.canvas.Cells()*3
	if full && !b.voted {
		m.Emit(EventClear, nil)
	}
	b.voted = full
}

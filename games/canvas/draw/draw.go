// Package draw is the canvas's renderer for the desktop client (it
// implements client/render.Renderer): the board, the other people's
// cursors (interpolated) with their names, the own hovered cell and the
// palette bar. The mouse moves the cursor (an input, written only when it
// moves), a left click or drag paints (a "paint" event, no faster than the
// cooldown), the number keys 1–9 and 0, the wheel or a click on the bar
// pick a colour, and C votes to clear the canvas (again: withdraws).
//
// draw imports the game API, the canvas rules and Ebiten; never the
// client's shell, which it is plugged into by the client's main.
package draw

import (
	"bytes"
	"fmt"
	"image/color"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/canvas"
)

// Layout at zoom 1, in pixels.
const (
	Cell    = 12 // a cell's side
	Bar     = 44 // the bar below the canvas: swatches, then a status line
	swatchH = 24
	Swatch  = 16 // the narrowest swatch: the view is at least Colours of them wide
)

var (
	outline = color.RGBA{0x0d, 0x0f, 0x13, 0xff}
	white   = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// colourKeys pick colours 0..9.
var colourKeys = []ebiten.Key{ebiten.Key1, ebiten.Key2, ebiten.Key3, ebiten.Key4, ebiten.Key5,
	ebiten.Key6, ebiten.Key7, ebiten.Key8, ebiten.Key9, ebiten.Key0}

// Renderer draws a canvas room. Only Ebiten's goroutine calls it.
type Renderer struct {
	colour    uint8
	picked    bool   // the player picked a colour (until then, the server's)
	buf, last []byte // the input being built, and the last one written
	painted   int    // cell*Colours+colour the held button last painted; -1 none
	nextPaint time.Time
	board     *ebiten.Image // one pixel per cell
	pix       []byte
}

// New returns a renderer for a canvas room.
func New() *Renderer { return &Renderer{painted: -1} }

// Size is the canvas and the palette bar below it.
func (r *Renderer) Size(s *game.Scene) (w, h int) {
	c, _ := canvas.SceneCanvas(s)
	return viewWidth(c), c.Height*Cell + Bar
}

func viewWidth(c *canvas.Canvas) int { return max(c.Width*Cell, canvas.Colours*Swatch) }

// At is the cursor (in 1/canvas.Scale cell) at a point of the view in
// pixels at zoom 1, and whether the point is on the canvas.
func At(c *canvas.Canvas, px, py float64) (x, y uint16, on bool) {
	if px < 0 || py < 0 || px >= float64(c.Width*Cell) || py >= float64(c.Height*Cell) {
		return 0, 0, false
	}
	return uint16(px * canvas.Scale / Cell), uint16(py * canvas.Scale / Cell), true
}

// SwatchAt is the palette colour under a point of the view, or -1.
func SwatchAt(c *canvas.Canvas, px, py float64) int {
	top, w := float64(c.Height*Cell), float64(viewWidth(c))
	if px < 0 || px >= w || py < top || py >= top+Bar {
		return -1
	}
	return int(px * canvas.Colours / w)
}

// PaintInterval is how long the renderer waits between two paints: the
// cooldown and one tick more, so jitter never bunches two into one
// cooldown at the server.
func PaintInterval(c *canvas.Canvas) time.Duration {
	return time.Duration(c.Cooldown+1) * time.Second / time.Duration(max(c.TickRate, 1))
}

// own is the own cursor's row in the newest snapshot, or nil.
func own(s *game.Scene) []int64 {
	if !s.Ready || s.Newest == nil || s.Self == 0 {
		return nil
	}
	return s.Newest.Get(canvas.KindCursor, uint32(s.Self))
}

func (r *Renderer) pick(colour int) {
	r.colour, r.picked = uint8((colour+canvas.Colours)%canvas.Colours), true
}

// Controls reads the mouse and keys (see the package comment).
func (r *Renderer) Controls(s *game.Scene, zoom float64, m *game.Move) {
	c, _ := canvas.SceneCanvas(s)
	row := own(s)
	if row != nil && !r.picked {
		r.colour = uint8(row[canvas.CColour])
	}
	for i, k := range colourKeys {
		if inpututil.IsKeyJustPressed(k) {
			r.pick(i)
		}
	}
	if _, dy := ebiten.Wheel(); dy > 0 {
		r.pick(int(r.colour) - 1)
	} else if dy < 0 {
		r.pick(int(r.colour) + 1)
	}
	if row != nil && inpututil.IsKeyJustPressed(ebiten.KeyC) {
		m.Emit(canvas.EventClear, []byte{byte(1 - row[canvas.CVote])})
	}
	mx, my := ebiten.CursorPositionF()
	px, py := mx/zoom, my/zoom
	if sw := SwatchAt(c, px, py); sw >= 0 && inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft) {
		r.pick(sw)
	}
	x, y, on := At(c, px, py)
	if !on && r.last != nil { // off the canvas: the cursor stays, its colour may change
		x, y, _, _ = canvas.DecodeInput(r.last)
	}
	if r.buf = canvas.AppendInput(r.buf[:0], x, y, r.colour); (on || r.last != nil) && !bytes.Equal(r.buf, r.last) {
		m.Input = append(m.Input, r.buf...)
		r.last = append(r.last[:0], r.buf...)
	}
	if !on || !ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) {
		r.painted = -1
		return
	}
	cx, cy := int(x/canvas.Scale), int(y/canvas.Scale)
	key := (cy*c.Width+cx)*canvas.Colours + int(r.colour)
	if now := time.Now(); key != r.painted && !now.Before(r.nextPaint) {
		m.Emit(canvas.EventPaint, canvas.AppendPaint(nil, cx, cy, r.colour))
		r.painted, r.nextPaint = key, now.Add(PaintInterval(c))
	}
}

// Pixels writes the board of t (nil: none painted) into pix, 4 bytes
// (RGBA) per cell, row after row.
func Pixels(c *canvas.Canvas, t *game.Table, pix []byte) {
	for i := 0; i < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2], pix[i+3] = canvas.Unpainted.R, canvas.Unpainted.G, canvas.Unpainted.B, 0xff
	}
	if t == nil {
		return
	}
	ids, vals := t.Rows(canvas.KindCell)
	for i, id := range ids {
		if p := 4 * int(id); p+4 <= len(pix) {
			col := c.Palette[vals[i]]
			pix[p], pix[p+1], pix[p+2] = col.R, col.G, col.B
		}
	}
}

// Draw draws the board of the newest snapshot, the others' cursors where
// they are shown, the own hovered cell and the palette bar.
func (r *Renderer) Draw(dst *ebiten.Image, s *game.Scene, zoom float64) {
	c, _ := canvas.SceneCanvas(s)
	if r.board == nil || r.board.Bounds().Dx() != c.Width || r.board.Bounds().Dy() != c.Height {
		if r.board != nil {
			r.board.Deallocate()
		}
		r.board, r.pix = ebiten.NewImage(c.Width, c.Height), make([]byte, 4*c.Cells())
	}
	var newest *game.Table
	if s.Ready {
		newest = s.Newest
	}
	Pixels(c, newest, r.pix)
	r.board.WritePixels(r.pix)
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Scale(Cell*zoom, Cell*zoom)
	dst.DrawImage(r.board, op)

	cell := float32(Cell * zoom)
	if r.last != nil && s.Self != 0 {
		x, y, _, _ := canvas.DecodeInput(r.last)
		vector.StrokeRect(dst, float32(x/canvas.Scale)*cell, float32(y/canvas.Scale)*cell, cell, cell, 2, white, false)
	}
	votes, paints := 0, int64(0)
	if s.Ready && s.Shown != nil {
		t := s.Shown
		for i := range t.Len(canvas.KindCursor) {
			row, id := t.Row(canvas.KindCursor, i), game.PlayerID(t.ID(canvas.KindCursor, i))
			votes += int(row[canvas.CVote])
			if id == s.Self {
				paints = row[canvas.CPaints]
				continue
			}
			x, y := float32(row[canvas.CX])/canvas.Scale*cell, float32(row[canvas.CY])/canvas.Scale*cell
			vector.FillCircle(dst, x, y, 5, c.Palette[row[canvas.CColour]], true)
			vector.StrokeCircle(dst, x, y, 5, 1.5, outline, true)
			ebitenutil.DebugPrintAt(dst, s.Name(id), int(x)+7, int(y)-8)
		}
	}
	top, sw, bar := float32(c.Height)*cell, float32(float64(viewWidth(c))*zoom/canvas.Colours), float32(swatchH*zoom)
	vector.FillRect(dst, 0, top, sw*canvas.Colours, float32(Bar*zoom), outline, false)
	for i, p := range c.Palette {
		vector.FillRect(dst, float32(i)*sw+2, top+3, sw-4, bar-6, p, false)
		if i == int(r.colour) {
			vector.StrokeRect(dst, float32(i)*sw+1, top+2, sw-2, bar-4, 2, white, false)
		}
	}
	if s.Ready && s.Shown != nil {
		line := fmt.Sprintf("painted %d · clear: %d of %d voted [C] · colour: 1-9, 0, wheel", paints, votes, s.Shown.Len(canvas.KindCursor))
		ebitenutil.DebugPrintAt(dst, line, 4, int(top+bar))
	}
}

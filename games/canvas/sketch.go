package canvas

import (
	"fmt"
	"image/color"

	"github.com/arenaserver/arena/game"
)

// Unpainted is the colour a client draws a cell nobody painted.
var Unpainted = color.RGBA{0x1e, 0x22, 0x2b, 0xff}

// sketch draws a canvas for the dashboard, in cells: the board (runs of one
// colour along a row as one rectangle) and the cursors, labelled.
func sketch(describe []byte, t *game.Table, s *game.Sketch) {
	c, err := ParseCanvas(describe)
	if err != nil {
		return
	}
	s.Width, s.Height = float64(c.Width), float64(c.Height)
	s.Rect(0, 0, s.Width, s.Height, css(Unpainted), true)
	ids, _ := t.Rows(KindCell)
	for i := 0; i < len(ids); {
		colour := t.Row(KindCell, i)[CellColour]
		j := i + 1
		for j < len(ids) && ids[j] == ids[j-1]+1 && int(ids[j])%c.Width != 0 && t.Row(KindCell, j)[CellColour] == colour {
			j++
		}
		id := int(ids[i])
		s.Rect(float64(id%c.Width), float64(id/c.Width), float64(j-i), 1, css(c.Palette[colour]), true)
		i = j
	}
	for i := range t.Len(KindCursor) {
		row := t.Row(KindCursor, i)
		s.Circle(float64(row[CX])/Scale, float64(row[CY])/Scale, 0.5, css(c.Palette[row[CColour]]), game.PlayerID(t.ID(KindCursor, i)))
	}
}

func css(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

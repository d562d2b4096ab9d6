// Package canvas is a shared pixel canvas written against the engine's
// game API: up to 64 people (or more, as the room's capacity allows) move
// their cursors over a grid and paint its cells in a 16-colour palette.
// Painting is a named event ("paint"), refused when it is off the canvas,
// in no colour of the palette or faster than the per-player cooldown; when
// every seated player votes "clear", the canvas is wiped. Cursors move by
// inputs sent only when they move (Def.TickInputs false), so an idle
// person sends nothing.
//
// It replicates two kinds: cursors (the player kind; x and y interpolate)
// and cells (id y*width+x), present once painted, so a late joiner's full
// snapshot carries the board and deltas carry only what changed.
// README.md documents its wire format.
//
// canvas imports only the game API and the standard library; its desktop
// renderer is in the draw subpackage (it links Ebiten).
package canvas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"slices"
	"strconv"

	"github.com/arenaserver/arena/game"
)

// Kinds and fields of the canvas's replicated state, in schema order.
const (
	KindCursor = 0
	KindCell   = 1

	CX, CY, CColour, CPaints, CVote = 0, 1, 2, 3, 4
	CellColour                      = 0
)

// Limits of a canvas.
const (
	// Colours is the size of the palette.
	Colours = 16
	// Scale is cursor units per cell: a cursor at x is over cell x/Scale.
	Scale = 16
	// MaxSide bounds the width and height in cells.
	MaxSide = 256
)

// Schema is what a canvas room replicates. Cells are Immutable: a full
// snapshot then carries two bytes a cell (id gap, colour) instead of three
// (id gap, mask, colour), and a repaint, sent as a removal and an add,
// costs about what a field delta would (README.md, "Wire cost"). A
// player's cooldown is not replicated: the reply to "paint" carries it.
var Schema = &game.Schema{Kinds: []game.Kind{
	{Name: "cursor", Players: true, Fields: []game.Field{
		{Name: "x", Max: MaxSide*Scale - 1, Interpolate: true, Predicted: true},
		{Name: "y", Max: MaxSide*Scale - 1, Interpolate: true, Predicted: true},
		{Name: "colour", Max: Colours - 1, Predicted: true},
		{Name: "paints"},       // cells painted since joining
		{Name: "vote", Max: 1}, // 1: votes to clear the canvas
	}},
	{Name: "cell", Immutable: true, Fields: []game.Field{
		{Name: "colour", Max: Colours - 1},
	}},
}}

// Def is the canvas game.
var Def = &game.Def{
	Name:       "canvas",
	Seats:      64,
	Summary:    "shared pixel canvas: move a cursor, paint cells in 16 colours, vote to clear (sparse events; late joiners get the board)",
	Schema:     Schema,
	New:        newMatch,
	Restore:    restoreMatch,
	CheckInput: checkInput,
	MaxInput:   InputSize,
	TickInputs: false,
	Events:     []string{EventPaint, EventClear},
	Params: []game.Param{
		{Name: "width", Default: "64", Usage: "canvas width in cells (1..256)"},
		{Name: "height", Default: "48", Usage: "canvas height in cells (1..256)"},
		{Name: "cooldown", Default: "6", Usage: "ticks between two paints of one player (0..3600); keep tick rate / cooldown within -event-rate"},
	},
	Client: newClient,
	Brain:  newBrain,
	Sketch: sketch,
}

// Palette is the canvas's 16 colours (the 2017 r/place palette); colour 0
// is white.
var Palette = []color.RGBA{
	{0xff, 0xff, 0xff, 0xff}, {0xe4, 0xe4, 0xe4, 0xff}, {0x88, 0x88, 0x88, 0xff}, {0x22, 0x22, 0x22, 0xff},
	{0xff, 0xa7, 0xd1, 0xff}, {0xe5, 0x00, 0x00, 0xff}, {0xe5, 0x95, 0x00, 0xff}, {0xa0, 0x6a, 0x42, 0xff},
	{0xe5, 0xd9, 0x00, 0xff}, {0x94, 0xe0, 0x44, 0xff}, {0x02, 0xbe, 0x01, 0xff}, {0x00, 0xd3, 0xdd, 0xff},
	{0x00, 0x83, 0xc7, 0xff}, {0x00, 0x00, 0xea, 0xff}, {0xcf, 0x6e, 0xe4, 0xff}, {0x82, 0x00, 0x80, 0xff},
}

// Canvas is a match's settings, as Joined.describe carries them.
type Canvas struct {
	Width, Height int    // in cells
	Cooldown      uint32 // ticks between two paints of one player
	TickRate      uint32 // ticks per second
	Palette       []color.RGBA
}

// Cells is the number of cells.
func (c *Canvas) Cells() int { return c.Width * c.Height }

// Clamp keeps a cursor on the canvas.
func (c *Canvas) Clamp(x, y uint16) (uint16, uint16) {
	return min(x, uint16(c.Width*Scale-1)), min(y, uint16(c.Height*Scale-1))
}

// Cursor decodes an input into the cursor it sets, clamped to the canvas:
// the match and the client's prediction share it.
func (c *Canvas) Cursor(in []byte) (x, y uint16, colour uint8, ok bool) {
	x, y, colour, err := DecodeInput(in)
	x, y = c.Clamp(x, y)
	return x, y, colour, err == nil
}

func settings(cfg game.Config) (Canvas, error) {
	w, h, cooldown := 64, 48, 6
	param := func(name string, dst *int, lo, hi int) error {
		v, ok := cfg.Params[name]
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("canvas: %s %q is not a number in %d..%d", name, v, lo, hi)
		}
		*dst = n
		return nil
	}
	err := errors.Join(param("width", &w, 1, MaxSide), param("height", &h, 1, MaxSide), param("cooldown", &cooldown, 0, 3600))
	return Canvas{Width: w, Height: h, Cooldown: uint32(cooldown), TickRate: cfg.TickRate, Palette: Palette}, err
}

// match is one canvas: the grid and the players' cursors.
type match struct {
	Canvas
	grid     []uint8  // per cell id: 0 unpainted, else colour+1
	players  []player // by id
	describe []byte
}

type player struct {
	id        game.PlayerID
	x, y      uint16 // cursor, in 1/Scale cell
	colour    uint8
	nextPaint uint32 // the first tick it may paint again
	paints    uint32
	vote      bool
}

func newMatch(cfg game.Config) (game.Match, error) {
	c, err := settings(cfg)
	if err != nil {
		return nil, err
	}
	return &match{Canvas: c, grid: make([]uint8, c.Cells()), describe: c.AppendBinary(nil)}, nil
}

func (m *match) find(p game.PlayerID) (int, bool) {
	return slices.BinarySearchFunc(m.players, p, func(a player, p game.PlayerID) int { return int(a.id) - int(p) })
}

func (m *match) player(p game.PlayerID) *player {
	if i, ok := m.find(p); ok {
		return &m.players[i]
	}
	return nil
}

// Join puts the player's cursor in the middle, holding a colour of its own
// (never white).
func (m *match) Join(_ *game.Context, p game.PlayerID, _ string) error {
	i, ok := m.find(p)
	if ok {
		return fmt.Errorf("canvas: player %d is seated already", p)
	}
	m.players = slices.Insert(m.players, i, player{id: p, x: uint16(m.Width * Scale / 2), y: uint16(m.Height * Scale / 2),
		colour: uint8(1 + (int(p)-1)%(Colours-1))})
	return nil
}

func (m *match) Leave(_ *game.Context, p game.PlayerID) {
	if i, ok := m.find(p); ok {
		m.players = slices.Delete(m.players, i, i+1)
	}
}

// Input moves the player's cursor and sets its colour.
func (m *match) Input(_ *game.Context, p game.PlayerID, in game.Input) {
	if pl := m.player(p); pl != nil {
		if x, y, colour, ok := m.Cursor(in.Data); ok {
			pl.x, pl.y, pl.colour = x, y, colour
		}
	}
}

// Event paints a cell or records a vote to clear.
func (m *match) Event(c *game.Context, p game.PlayerID, name string, payload []byte) ([]byte, error) {
	pl := m.player(p)
	switch {
	case pl == nil:
		return nil, fmt.Errorf("canvas: player %d is not seated", p)
	case name == EventPaint:
		return m.paint(c.Tick(), pl, payload)
	case name == EventClear:
		if len(payload) > 1 {
			return nil, fmt.Errorf("%w: clear takes 0 or 1 byte", ErrPayload)
		}
		pl.vote = len(payload) == 0 || payload[0] != 0
		return nil, nil
	}
	return nil, game.ErrUnknownEvent
}

// paint paints a cell at tick, when the player's cooldown allows, and
// replies the tick the player may paint again (big-endian uint32).
func (m *match) paint(tick uint32, pl *player, payload []byte) ([]byte, error) {
	x, y, colour, err := DecodePaint(payload)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: paint takes %d bytes", err, InputSize)
	case x >= m.Width || y >= m.Height:
		return nil, fmt.Errorf("%w: cell (%d, %d) is not on the %d×%d canvas", ErrOutside, x, y, m.Width, m.Height)
	case colour >= Colours:
		return nil, fmt.Errorf("%w: colour %d is not in the %d-colour palette", ErrColour, colour, Colours)
	case tick < pl.nextPaint:
		return nil, fmt.Errorf("%w: wait %d more ticks", ErrTooFast, pl.nextPaint-tick)
	}
	m.grid[y*m.Width+x] = colour + 1
	pl.paints++
	pl.nextPaint = tick + m.Cooldown
	return binary.BigEndian.AppendUint32(nil, pl.nextPaint), nil
}

// Step clears the canvas once every seated player votes for it, and tells
// everyone ("cleared").
func (m *match) Step(c *game.Context) {
	if len(m.players) == 0 || slices.ContainsFunc(m.players, func(p player) bool { return !p.vote }) {
		return
	}
	clear(m.grid)
	for i := range m.players {
		m.players[i].vote = false
	}
	c.Broadcast(EventCleared, nil, 0)
}

// Replicate writes the cursors and the painted cells.
func (m *match) Replicate(t *game.Table) {
	for i := range m.players {
		p := &m.players[i]
		row := t.Add(KindCursor, uint32(p.id))
		row[CX], row[CY], row[CColour] = int64(p.x), int64(p.y), int64(p.colour)
		row[CPaints] = int64(p.paints)
		if p.vote {
			row[CVote] = 1
		}
	}
	for id, v := range m.grid {
		if v != 0 {
			t.Add(KindCell, uint32(id))[CellColour] = int64(v - 1)
		}
	}
}

func (m *match) Describe() []byte { return m.describe }

// Save writes the version, the settings (checked on restore), the grid,
// and each player's cursor, cooldown, paint count and vote.
func (m *match) Save(dst []byte) []byte {
	be := binary.BigEndian
	dst = be.AppendUint16(be.AppendUint16(be.AppendUint16(append(dst, saveVersion), uint16(m.Width)), uint16(m.Height)), uint16(m.Cooldown))
	dst = append(dst, m.grid...)
	dst = be.AppendUint16(dst, uint16(len(m.players)))
	for _, p := range m.players {
		dst = AppendInput(be.AppendUint32(dst, uint32(p.id)), p.x, p.y, p.colour)
		dst = be.AppendUint32(be.AppendUint32(dst, p.nextPaint), p.paints)
		if p.vote {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	}
	return dst
}

func restoreMatch(cfg game.Config, saved []byte) (game.Match, error) {
	gm, err := newMatch(cfg)
	if err != nil {
		return nil, err
	}
	m := gm.(*match)
	r := reader{b: saved}
	if r.u8() != saveVersion || int(r.u16()) != m.Width || int(r.u16()) != m.Height || uint32(r.u16()) != m.Cooldown {
		return nil, fmt.Errorf("%w: another version or other settings", ErrSave)
	}
	copy(m.grid, r.take(m.Cells()))
	n := int(r.u16())
	for range n {
		p := player{id: game.PlayerID(r.u32()), x: r.u16(), y: r.u16(), colour: r.u8(), nextPaint: r.u32(), paints: r.u32()}
		vote := r.u8()
		p.vote = vote == 1
		x, y := m.Clamp(p.x, p.y)
		if r.bad || vote > 1 || p.colour >= Colours || x != p.x || y != p.y ||
			(len(m.players) > 0 && m.players[len(m.players)-1].id >= p.id) {
			return nil, ErrSave
		}
		m.players = append(m.players, p)
	}
	if r.bad || len(r.b) != 0 || slices.ContainsFunc(m.grid, func(v uint8) bool { return v > Colours }) {
		return nil, ErrSave
	}
	return m, nil
}

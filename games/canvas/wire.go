package canvas

import (
	"encoding/binary"
	"errors"
	"image/color"
)

// Errors of the canvas's wire formats and rules. Event refusals wrap the
// rule errors with the details; the room sends their text to the client.
var (
	ErrInput    = errors.New("canvas: malformed input")
	ErrPayload  = errors.New("canvas: malformed payload")
	ErrOutside  = errors.New("canvas: outside the canvas")
	ErrColour   = errors.New("canvas: no such colour")
	ErrTooFast  = errors.New("canvas: painting too fast")
	ErrDescribe = errors.New("canvas: malformed describe")
	ErrSave     = errors.New("canvas: malformed save")
)

// Event names: a member sends "paint" and "clear"; the match broadcasts
// "cleared".
const (
	EventPaint   = "paint"
	EventClear   = "clear"
	EventCleared = "cleared"
)

// InputSize is the size of an input and of a paint payload: x and y as
// big-endian uint16, then the colour.
const InputSize = 5

// AppendInput appends a cursor input: the cursor at (x, y) in 1/Scale of a
// cell, holding colour.
func AppendInput(dst []byte, x, y uint16, colour uint8) []byte {
	return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(dst, x), y), colour)
}

// DecodeInput parses a cursor input: exactly InputSize bytes, a colour of
// the palette and a position on the largest canvas (a match clamps it to
// its own).
func DecodeInput(b []byte) (x, y uint16, colour uint8, err error) {
	if len(b) != InputSize || b[4] >= Colours {
		return 0, 0, 0, ErrInput
	}
	x, y = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if x >= MaxSide*Scale || y >= MaxSide*Scale {
		return 0, 0, 0, ErrInput
	}
	return x, y, b[4], nil
}

func checkInput(b []byte) error {
	_, _, _, err := DecodeInput(b)
	return err
}

// AppendPaint appends the payload of a "paint" event: cell (x, y) in
// colour. It has the input's layout, in cells.
func AppendPaint(dst []byte, x, y int, colour uint8) []byte {
	return AppendInput(dst, uint16(x), uint16(y), colour)
}

// DecodePaint splits a "paint" payload; the match checks the values.
func DecodePaint(b []byte) (x, y int, colour uint8, err error) {
	if len(b) != InputSize {
		return 0, 0, 0, ErrPayload
	}
	return int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:])), b[4], nil
}

// describeVersion is the first byte of Joined.describe.
const describeVersion = 1

// AppendBinary appends the describe bytes of c (README.md, "Wire"):
// version, width, height, cooldown, tick rate, scale, palette.
func (c *Canvas) AppendBinary(dst []byte) []byte {
	dst = append(dst, describeVersion)
	for _, v := range []int{c.Width, c.Height, int(c.Cooldown), int(c.TickRate)} {
		dst = binary.BigEndian.AppendUint16(dst, uint16(v))
	}
	dst = append(dst, Scale, byte(len(c.Palette)))
	for _, p := range c.Palette {
		dst = append(dst, p.R, p.G, p.B)
	}
	return dst
}

// ParseCanvas reads what AppendBinary wrote; a client ignores bytes after
// the palette (later versions may add some).
func ParseCanvas(b []byte) (*Canvas, error) {
	if len(b) < 11 || b[0] != describeVersion || b[9] != Scale || b[10] != Colours || len(b) < 11+3*Colours {
		return nil, ErrDescribe
	}
	u16 := func(i int) int { return int(binary.BigEndian.Uint16(b[i:])) }
	c := &Canvas{Width: u16(1), Height: u16(3), Cooldown: uint32(u16(5)), TickRate: uint32(u16(7)), Palette: make([]color.RGBA, Colours)}
	if c.Width < 1 || c.Width > MaxSide || c.Height < 1 || c.Height > MaxSide {
		return nil, ErrDescribe
	}
	for i := range c.Palette {
		c.Palette[i] = color.RGBA{b[11+3*i], b[12+3*i], b[13+3*i], 0xff}
	}
	return c, nil
}

// saveVersion is the first byte of a saved match.
const saveVersion = 1

// reader consumes big-endian integers; after the first short read every
// read returns 0 and bad stays set.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }

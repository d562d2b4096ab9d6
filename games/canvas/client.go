package canvas

import "github.com/arenaserver/arena/game"

// Client is the canvas's rules on a client: the room's settings as the
// server described them, and prediction of the own cursor, so it follows
// the mouse before the server has applied the move.
type Client struct {
	Canvas
}

func newClient(describe []byte) (game.Client, error) { return NewClient(describe) }

// NewClient parses Joined.describe of a canvas room.
func NewClient(describe []byte) (*Client, error) {
	c, err := ParseCanvas(describe)
	if err != nil {
		return nil, err
	}
	return &Client{Canvas: *c}, nil
}

// Predict moves the own cursor as the server's Input will.
func (c *Client) Predict(t *game.Table, self game.PlayerID, in game.Input, _ uint32) {
	row := t.Get(KindCursor, uint32(self))
	if x, y, colour, ok := c.Cursor(in.Data); ok && row != nil {
		row[CX], row[CY], row[CColour] = int64(x), int64(y), int64(colour)
	}
}

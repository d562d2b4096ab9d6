package arena

import (
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/proto/arenapb"
)

// Client is the arena's rules on a client: the room's map and rules as the
// server described them, and prediction of the own player with the same
// step code the server runs (sim.Config.Act).
type Client struct {
	// Config is the world configuration the server plays by.
	Config sim.Config
	// Described is the server's description (score limit included).
	Described *arenapb.Config
}

func newClient(describe []byte) (game.Client, error) { return NewClient(describe) }

// NewClient parses Joined.describe of an arena room.
func NewClient(describe []byte) (*Client, error) {
	var d arenapb.Config
	if err := proto.Unmarshal(describe, &d); err != nil {
		return nil, err
	}
	return &Client{Config: SimConfig(&d), Described: &d}, nil
}

// PredictedShot is the top bit of the id a shot fired by a pending input
// gets in a predicted table: the server's ids never have it.
const PredictedShot = 1 << 31

// Predict applies one own input at tick, as the server's Step will: a
// living player moves, turns and, when the fire rule allows, fires a shot
// (added with id PredictedShot|tick). The dead neither move nor turn;
// respawns come from the server.
func (c *Client) Predict(t *game.Table, self game.PlayerID, in game.Input, tick uint32) {
	row := t.Get(KindPlayer, uint32(self))
	if row == nil {
		return
	}
	p := PlayerOf(uint32(self), row)
	if !p.Alive() {
		return
	}
	buttons, aim, err := DecodeInput(in.Data)
	if err != nil {
		return
	}
	fires := c.Config.Act(&p, sim.Input{Buttons: buttons, Aim: aim}, tick)
	row[PX], row[PY], row[PAim], row[PNextFire] = int64(p.X), int64(p.Y), int64(p.Aim), int64(p.NextFire)
	if fires && t.Find(KindShot, PredictedShot|tick) < 0 {
		s := t.Insert(KindShot, PredictedShot|tick)
		s[SOwner], s[SSpawn], s[SX], s[SY], s[SAim] = int64(self), int64(tick), int64(p.X), int64(p.Y), int64(p.Aim)
	}
}

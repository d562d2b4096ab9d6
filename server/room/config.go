package room

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/arenaserver/arena/game"
)

// Config is one room's settings. The zero value is usable: Fill gives every
// zero field its default.
type Config struct {
	// Game is the game the room plays. Required.
	Game *game.Def
	// Params are the operator's settings for the game (game.Config.Params).
	Params map[string]string
	// TickRate is simulation ticks per second. Default 60.
	TickRate uint32
	// SnapshotRate is snapshots per second sent to each member; at most
	// TickRate. Default 30.
	SnapshotRate uint32
	// Capacity is the number of player seats (spectators are extra, up to
	// the same number). Default 16.
	Capacity int
	// EmptyGrace is how long a room with no members lives before it closes.
	// Default 10 s.
	EmptyGrace time.Duration
	// History is how many snapshots the room keeps as delta baselines.
	// Default: one second of snapshots plus two, at least 32 (Quake 3's
	// choice), so a client up to a second behind still gets a delta.
	History int
	// MaxCatchUp is how many late ticks the room runs back to back after an
	// overrun before it skips ahead (and counts the skip). Default 2.
	MaxCatchUp int
	// FullSnapshots turns delta encoding off: every snapshot is the full
	// state. Only for measuring what deltas save. Default false.
	FullSnapshots bool
	// Seed makes the world reproducible; 0 picks one from the room id.
	Seed uint64
	// Logger receives lifecycle logs; nil means slog.Default().
	Logger *slog.Logger
	// Totals, if not nil, receives the room's counters for metrics (shared
	// by every room of a server). Default nil: no metrics are kept.
	Totals *Totals
	// OnTick, if not nil, is called on the room goroutine after every tick
	// with the room's id and the time the tick's work took (what the
	// tick-duration metric records), for tests and benchmarks that compare
	// tick times exactly. It must be quick and must not block. Default nil.
	OnTick func(roomID string, work time.Duration)
}

// ErrConfig is wrapped by Validate's errors.
var ErrConfig = errors.New("room: invalid config")

// Fill sets defaults for zero fields.
func (c *Config) Fill() {
	if c.TickRate == 0 {
		c.TickRate = 60
	}
	if c.SnapshotRate == 0 {
		c.SnapshotRate = min(30, c.TickRate)
	}
	if c.Capacity == 0 {
		c.Capacity = 16
	}
	if c.EmptyGrace == 0 {
		c.EmptyGrace = 10 * time.Second
	}
	if c.History == 0 {
		c.History = max(32, int(c.SnapshotRate)+2)
	}
	if c.MaxCatchUp == 0 {
		c.MaxCatchUp = 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate rejects impossible settings; call it after Fill.
func (c *Config) Validate() error {
	switch {
	case c.Game == nil:
		return fmt.Errorf("%w: no game", ErrConfig)
	case c.TickRate < 10 || c.TickRate > 240:
		return fmt.Errorf("%w: tick rate %d outside 10..240", ErrConfig, c.TickRate)
	case c.SnapshotRate < 1 || c.SnapshotRate > c.TickRate:
		return fmt.Errorf("%w: snapshot rate %d outside 1..tick rate (%d)", ErrConfig, c.SnapshotRate, c.TickRate)
	case c.Capacity < 1 || c.Capacity > 256:
		return fmt.Errorf("%w: capacity %d outside 1..256", ErrConfig, c.Capacity)
	case c.EmptyGrace < 0:
		return fmt.Errorf("%w: negative empty grace", ErrConfig)
	case c.History < 2 || c.History > 4096:
		return fmt.Errorf("%w: history %d outside 2..4096", ErrConfig, c.History)
	case c.MaxCatchUp < 0:
		return fmt.Errorf("%w: negative catch-up", ErrConfig)
	}
	return nil
}

// Package drain runs a graceful shutdown: it stops the lobby taking players
// and rooms, tells every client how long it has left, closes rooms as their
// players leave, and returns when the grace period is over or no room is
// left, so the caller can close the connections and exit.
//
// drain imports the room package for its types only; it reaches the lobby
// and the gateway through the small interfaces below.
package drain

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/server/room"
)

// Lobby is what a drain needs of the lobby.
type Lobby interface {
	StopAccepting()
	Rooms() []*room.Room
}

// Notifier tells every client how long the server has left (the gateway).
type Notifier interface {
	NotifyDraining(left time.Duration) int
}

// Config is a drain's settings; zero fields take defaults.
type Config struct {
	// Grace is how long running matches may go on. Default 30 s.
	Grace time.Duration
	// NotifyEvery is how often clients are told the time left. Default 5 s.
	NotifyEvery time.Duration
	// Poll is how often rooms are checked for players. Default 100 ms.
	Poll time.Duration
	// Move, if not nil, hands the running rooms to other servers (a
	// fleet: gateway.Server.MoveRooms) before the clients left are told of
	// the drain; it returns how many rooms moved and how many stay. Nil:
	// every room stays and runs out its grace here.
	Move func(ctx context.Context) (moved, stayed int)
	// Logger receives lifecycle logs; nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) fill() {
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.NotifyEvery <= 0 {
		c.NotifyEvery = 5 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// State says whether the server is draining. The zero value is not
// draining; safe for concurrent use.
type State struct {
	deadline atomic.Int64 // unix nanos; 0 while not draining
}

// Draining reports whether a drain has started.
func (s *State) Draining() bool { return s.deadline.Load() != 0 }

// Left is the time left until the drain ends (0 when not draining).
func (s *State) Left() time.Duration {
	d := s.deadline.Load()
	if d == 0 {
		return 0
	}
	return max(time.Until(time.Unix(0, d)), 0)
}

// Run drains: it marks s draining, stops l taking players and rooms,
// hands the rooms to other servers (Config.Move), notifies n at once and every NotifyEvery, closes each room whose players
// have all left, and returns when Grace has passed, when no room is left,
// or when ctx ends. It starts no goroutine.
func Run(ctx context.Context, s *State, l Lobby, n Notifier, cfg Config) {
	cfg.fill()
	start := time.Now()
	deadline := start.Add(cfg.Grace)
	s.deadline.Store(deadline.UnixNano())
	l.StopAccepting()
	left := cfg.Grace
	if cfg.Move != nil {
		moved, stayed := cfg.Move(ctx)
		cfg.Logger.Info("rooms handed to other servers", "moved", moved, "stayed", stayed, "took", time.Since(start).Round(time.Millisecond))
		left = time.Until(deadline)
	}
	told := n.NotifyDraining(left)
	cfg.Logger.Info("draining", "grace", cfg.Grace, "rooms", len(l.Rooms()), "clients_told", told)

	poll := time.NewTicker(cfg.Poll)
	defer poll.Stop()
	end := time.NewTimer(cfg.Grace)
	defer end.Stop()
	lastNotify := start
	for {
		rooms := l.Rooms()
		for _, r := range rooms {
			if r.Info().Players == 0 {
				r.Close(room.ErrShutdown)
			}
		}
		if len(rooms) == 0 {
			cfg.Logger.Info("drained: no room left", "after", time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			cfg.Logger.Info("drain cut short", "rooms", len(rooms))
			return
		case <-end.C:
			cfg.Logger.Info("drain grace over", "rooms", len(rooms))
			return
		case now := <-poll.C:
			if now.Sub(lastNotify) >= cfg.NotifyEvery {
				lastNotify = now
				n.NotifyDraining(deadline.Sub(now))
			}
		}
	}
}

// Package health answers the readiness probe: whether this server should
// be sent new players. It is not ready while it drains, or while a room's
// ticks have kept overrunning for a sustained time (the machine is
// overloaded; more players would make it worse).
package health

import (
	"fmt"
	"net/http"
	"time"

	"github.com/arenaserver/arena/server/room"
)

// Checker decides readiness. Nil functions are skipped.
type Checker struct {
	// Draining reports whether the server is draining.
	Draining func() bool
	// Rooms lists the open rooms (lobby.List).
	Rooms func() []room.Info
	// Sustained is how long a room must have been overloaded to make the
	// server unready. Default 10 s.
	Sustained time.Duration
}

// Ready reports readiness and, when not ready, why.
func (c *Checker) Ready() (bool, string) {
	if c.Draining != nil && c.Draining() {
		return false, "draining"
	}
	sustained := c.Sustained
	if sustained <= 0 {
		sustained = 10 * time.Second
	}
	if c.Rooms != nil {
		for _, i := range c.Rooms() {
			if i.OverloadedFor >= sustained {
				return false, fmt.Sprintf("room %s has overrun its tick budget for %s", i.ID, i.OverloadedFor.Round(time.Second))
			}
		}
	}
	return true, "ready"
}

// ServeHTTP answers GET /readyz: 200 "ready", or 503 with the reason.
func (c *Checker) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ok, why := c.Ready()
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, why)
}

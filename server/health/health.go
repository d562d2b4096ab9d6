// Package health answers the readiness probe: whether this server should
// be sent new players. It is not ready while it drains, or while a room's
// ticks have kept overrunning for a sustained time (the machine is
// overloaded; more players would make it worse).
package health

import (
	"fmt"
	"net/http"
	"sync"
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
	// Every, when positive, bounds how often ServeHTTP evaluates readiness
	// (it walks the rooms): answers in between repeat the last one, so a
	// flood of probes costs no more than one evaluation per interval. The
	// server sets 250 ms. Default 0: every request evaluates.
	Every time.Duration

	mu  sync.Mutex // guards the cached answer
	at  time.Time
	ok  bool
	why string
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
	ok, why := c.cached(time.Now())
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, why)
}

// cached is Ready, evaluated at most once per Every.
func (c *Checker) cached(now time.Time) (bool, string) {
	if c.Every <= 0 || (c.Draining != nil && c.Draining()) {
		return c.Ready() // a drain shows at once; only the walk of the rooms is cached
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) >= c.Every || now.Before(c.at) {
		c.ok, c.why = c.Ready()
		c.at = now
	}
	return c.ok, c.why
}

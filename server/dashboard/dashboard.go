// Package dashboard serves the admin dashboard: a page (plain HTML and
// JavaScript embedded in the binary) that lists every room with its
// players, tick time against the budget, snapshot rate and bandwidth per
// player, and draws a chosen match live from the server's own data.
//
// Everything under /dashboard needs the admin token: as ?token= once (the
// server answers with a cookie and a redirect that drops the token from the
// address), as that cookie, or as "Authorization: Bearer <token>". A
// missing token is 401, a wrong one 403.
//
// Data reaches the page as server-sent events: the room list once a second,
// and a chosen room's View about 15 times a second. Views come from
// room.Watch, which a room answers with copies it publishes at the end of a
// tick, and only while someone watches.
package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/room"
)

//go:embed static
var static embed.FS

// Config is the dashboard's settings and sources.
type Config struct {
	// Token is the admin token; required (New panics without one).
	Token string
	// Rooms lists the open rooms (lobby.Rooms).
	Rooms func() []*room.Room
	// Census reports connections and traffic (gateway.Census); may be nil.
	Census func() metrics.Census
	// Draining reports whether the server drains and how long is left; may
	// be nil.
	Draining func() (bool, time.Duration)
	// TickRate and SnapshotRate are the rooms' settings, for the budget.
	TickRate, SnapshotRate uint32
	// Metrics counts refused tokens; may be nil.
	Metrics *metrics.Counters
	// ListEvery is how often the room list is sent. Default 1 s.
	ListEvery time.Duration
	// ViewEvery is how often a watched room's view is sent. Default 1/15 s.
	ViewEvery time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Dashboard is an http.Handler for /dashboard and everything under it.
type Dashboard struct {
	cfg     Config
	token   [32]byte // sha256 of the token: compared in constant time
	files   http.Handler
	started time.Time

	closeOnce sync.Once
	closed    chan struct{} // ends every event stream
}

// New returns a dashboard. It panics when cfg.Token is empty: an open
// dashboard is never the default.
func New(cfg Config) *Dashboard {
	if cfg.Token == "" {
		panic("dashboard: empty admin token")
	}
	if cfg.ListEvery <= 0 {
		cfg.ListEvery = time.Second
	}
	if cfg.ViewEvery <= 0 {
		cfg.ViewEvery = time.Second / 15
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TickRate == 0 {
		cfg.TickRate = 60
	}
	sub, _ := fs.Sub(static, "static")
	return &Dashboard{
		cfg: cfg, token: sha256.Sum256([]byte(cfg.Token)), started: time.Now(),
		files: http.StripPrefix("/dashboard/", http.FileServerFS(sub)), closed: make(chan struct{}),
	}
}

// Close ends every open event stream (http.Server.Shutdown waits for
// handlers, and a stream would otherwise never end). Register it with
// http.Server.RegisterOnShutdown.
func (d *Dashboard) Close() { d.closeOnce.Do(func() { close(d.closed) }) }

const cookieName = "arena_admin"

var (
	errNoToken    = errors.New("dashboard: admin token required")
	errWrongToken = errors.New("dashboard: wrong admin token")
)

// check finds the token in the request (query, bearer header, cookie, in
// that order) and compares it with the admin token.
func (d *Dashboard) check(r *http.Request) (fromQuery bool, err error) {
	tok, fromQuery := r.URL.Query().Get("token"), true
	if tok == "" {
		fromQuery = false
		if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
			tok = h[7:]
		} else if c, err := r.Cookie(cookieName); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		return false, errNoToken
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], d.token[:]) != 1 {
		return fromQuery, errWrongToken
	}
	return fromQuery, nil
}

// Guard serves next only to requests that carry the admin token as
// "Authorization: Bearer <token>" (what Prometheus' authorization setting
// sends): a missing token is refused with 401, a wrong one with 403, both
// counted, before next does any work. The server puts /metrics on its
// public address behind it.
func (d *Dashboard) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		if h := r.Header.Get("Authorization"); len(h) > 7 && h[:7] == "Bearer " {
			tok = h[7:]
		}
		if tok == "" {
			d.cfg.Metrics.AuthFailed(metrics.AuthAdminToken)
			w.Header().Set("WWW-Authenticate", `Bearer realm="arena admin"`)
			http.Error(w, "admin token required (Authorization: Bearer <admin token>), or scrape the admin address", http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], d.token[:]) != 1 {
			d.cfg.Metrics.AuthFailed(metrics.AuthAdminToken)
			http.Error(w, "wrong admin token", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP authenticates, then routes.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	fromQuery, err := d.check(r)
	switch {
	case errors.Is(err, errNoToken):
		d.cfg.Metrics.AuthFailed(metrics.AuthAdminToken)
		w.Header().Set("WWW-Authenticate", `Bearer realm="arena admin"`)
		http.Error(w, "admin token required: open /dashboard?token=<admin token>", http.StatusUnauthorized)
		return
	case err != nil:
		d.cfg.Metrics.AuthFailed(metrics.AuthAdminToken)
		http.Error(w, "wrong admin token", http.StatusForbidden)
		return
	}
	if fromQuery {
		// Trade the token in the address for a cookie, so that it does not
		// stay in the address bar or the history.
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: r.URL.Query().Get("token"), Path: "/dashboard",
			HttpOnly: true, SameSite: http.SameSiteStrictMode,
		})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		if u.Path == "/dashboard" {
			u.Path = "/dashboard/"
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/dashboard":
		http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
	case p == "/dashboard/api/rooms":
		writeJSON(w, d.overview(newRates()))
	case p == "/dashboard/api/stream":
		d.streamOverview(w, r)
	case len(p) > len("/dashboard/api/view/") && p[:len("/dashboard/api/view/")] == "/dashboard/api/view/":
		d.streamView(w, r, p[len("/dashboard/api/view/"):])
	default:
		d.files.ServeHTTP(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

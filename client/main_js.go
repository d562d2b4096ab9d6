//go:build js

package main

// The browser build of the client (GOOS=js GOARCH=wasm), which the server
// serves at /play: the same core, shell and games as the desktop, set up
// from the page's address instead of flags.
//
//	/play                 the start screen
//	/play?join=quick      quick join (also create, spectate)
//	/play?room=ID         join room ID (the link players share)
//	&game=NAME            the game quick join and create play
//	&name=NAME            the player's name (1..24 bytes)
//	&transport=ws|poll    force a transport (default auto)
//	&netgraph=1           show the net graph (F3 toggles it)
//	&zoom=0.5             scale of the match view (0.25..2; fewer pixels to draw)
//
// A reload resumes the tab's session (same seat, same player): the page
// keeps its resume token, its numbering and the room's Joined in
// sessionStorage, refreshed twice a second and when the page is hidden.
//
// The server is the page's own origin (ws://HOST/ws, or wss:// on https),
// unless the page sets window.arenaServer to a ws(s):// URL before it
// starts the client (a page served from another origin, README "Play in
// the browser"). The page's global window.arenaStats is refreshed twice a
// second with what the client sees (phase, room, transport, snapshots,
// frame times, when the client started and drew its first snapshot in ms
// since the page was opened): the browser test and a curious player read
// it there.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"syscall/js"
	"time"
	"unicode/utf8"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/client/render"
	"github.com/arenaserver/arena/netcode/client"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)) // the browser's console
	reg, renderers := games()
	p := readPage(js.Global().Get("location").Get("href").String(), js.Global().Get("arenaServer"))
	cfg := core.Config{URL: p.server, Name: p.name, Transport: p.transport, Games: reg, Game: p.game, Logger: log}
	if cfg.Game != "" && reg.Lookup(cfg.Game) == nil {
		log.Warn("no such game: playing the default", "game", cfg.Game)
		cfg.Game = ""
	}
	s := core.New(cfg)
	defer s.Close()
	// The page joins by itself (page.start): a saved session first.
	g := render.New(s, renderers, render.Options{NetGraph: p.netGraph, Zoom: p.zoom})
	ebiten.SetWindowTitle("arena server")
	ebiten.SetRunnableOnUnfocused(true)
	pg := &page{Game: g, s: s, startedMs: sinceNavigation(), stats: js.Global().Get("Object").New(), autoJoin: p.autoJoin,
		server: p.server, want: p.autoJoin != ""}
	if reloaded() {
		pg.saved = loadSession(p.server)
	}
	js.Global().Set("arenaStats", pg.stats)
	// The last chance to save the newest token before the page goes.
	onHide := js.FuncOf(func(js.Value, []js.Value) any { saveSession(s, p.server); return nil })
	defer onHide.Release()
	js.Global().Call("addEventListener", "pagehide", onHide)
	if err := ebiten.RunGame(pg); err != nil {
		log.Error("client stopped", "err", err)
	}
	g.Close()
}

// pageParams are the client's settings read from the page.
type pageParams struct {
	server, name, transport, game, autoJoin string
	netGraph                                bool
	zoom                                    float64
}

// readPage reads the settings from the page's address and its
// window.arenaServer (a ws:// or wss:// URL, else ignored).
func readPage(href string, server js.Value) pageParams {
	p := pageParams{name: "player", transport: "auto"}
	u, err := url.Parse(href)
	if err != nil {
		u = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	ws := &url.URL{Scheme: "ws", Host: u.Host, Path: "/ws"}
	if u.Scheme == "https" {
		ws.Scheme = "wss"
	}
	p.server = ws.String()
	if server.Type() == js.TypeString {
		if su, err := url.Parse(server.String()); err == nil && (su.Scheme == "ws" || su.Scheme == "wss") && su.Host != "" {
			p.server = su.String()
		}
	}
	q := u.Query()
	if n := q.Get("name"); n != "" && len(n) <= 24 && utf8.ValidString(n) {
		p.name = n
	}
	if t := q.Get("transport"); t == "ws" || t == "poll" {
		p.transport = t
	}
	p.game = q.Get("game")
	switch j := q.Get("join"); {
	case q.Get("room") != "":
		p.autoJoin = q.Get("room")
	case j == "quick" || j == "create" || j == "spectate":
		p.autoJoin = j
	}
	p.netGraph = q.Get("netgraph") == "1"
	if z, err := strconv.ParseFloat(q.Get("zoom"), 64); err == nil && z >= 0.25 && z <= 2 {
		p.zoom = z
	}
	return p
}

// page is the shell with what the browser page shows of it: it measures
// frame intervals and publishes window.arenaStats.
type page struct {
	*render.Game
	s         *core.Session
	startedMs float64 // when main began, in ms since the page was opened (sinceNavigation)
	stats     js.Value
	autoJoin  string // the page's join=/room=, "" when it has none
	server    string
	saved     *client.Saved // the session of this tab before a reload, until follow resumes it

	// Staying in a match (follow).
	want     bool      // in a room, or trying to be
	room     string    // the room played or watched last
	spectate bool      // watching it
	inRoom   bool      // in a room at the last frame
	left     bool      // the player left with Esc: no rejoin
	tries    int       // join attempts since the last membership
	nextTry  time.Time // when the next attempt may start
	savedAt  time.Time // when the session was last saved (sessionKey)

	lastDraw   time.Time
	firstDrawn float64 // when the first snapshot was drawn, in ms since the page was opened
	intervals  []time.Duration
	published  time.Time
}

// statsWindow is how many frame intervals the page's figures cover.
const statsWindow = 600

// Update runs the shell's frame, then follow.
func (p *page) Update() error {
	if p.inRoom && inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
		p.left = true
	}
	err := p.Game.Update()
	now := time.Now()
	p.follow(now)
	if now.Sub(p.savedAt) >= 500*time.Millisecond {
		p.savedAt = now
		saveSession(p.s, p.server)
	}
	return err
}

// join acts on a join link: quick, create, spectate or a room id.
func (p *page) join(what string) {
	switch what {
	case "":
	case "quick":
		p.s.QuickJoin(false)
	case "create":
		p.s.CreateAndJoin(0)
	case "spectate":
		p.s.QuickJoin(true)
	default:
		p.s.JoinRoom(what, false)
	}
}

// sessionKey is where a tab keeps its session in sessionStorage, so that a
// reload resumes it (same seat, same player) instead of starting anew.
// sessionStorage belongs to the tab: two tabs are two players.
const sessionKey = "arena.session"

// storedSession is the JSON kept under sessionKey.
type storedSession struct {
	Server   string `json:"server"`
	Token    []byte `json:"token"`
	LastSeq  uint32 `json:"last_seq"`
	InputSeq uint32 `json:"input_seq"`
	Joined   []byte `json:"joined,omitempty"`
}

// reloaded reports whether the page was reloaded (not opened from a link,
// which may name another room): only a reload resumes the saved session.
func reloaded() bool {
	perf := js.Global().Get("performance")
	if perf.Type() != js.TypeObject || perf.Get("getEntriesByType").Type() != js.TypeFunction {
		return false
	}
	nav := perf.Call("getEntriesByType", "navigation")
	return nav.Length() > 0 && nav.Index(0).Get("type").String() == "reload"
}

func storage() (js.Value, bool) {
	st := js.Global().Get("sessionStorage")
	return st, st.Type() == js.TypeObject
}

// loadSession reads the session this tab saved for server, if any.
func loadSession(server string) *client.Saved {
	st, ok := storage()
	if !ok {
		return nil
	}
	v := st.Call("getItem", sessionKey)
	if v.Type() != js.TypeString {
		return nil
	}
	var ss storedSession
	if json.Unmarshal([]byte(v.String()), &ss) != nil || ss.Server != server || len(ss.Token) == 0 {
		return nil
	}
	return &client.Saved{Token: ss.Token, LastSeq: ss.LastSeq, InputSeq: ss.InputSeq, Joined: ss.Joined}
}

// saveSession keeps what resumes s after a reload, or forgets it when s
// has no live session.
func saveSession(s *core.Session, server string) {
	st, ok := storage()
	if !ok {
		return
	}
	sv, live := s.Save()
	if !live || len(sv.Token) == 0 {
		st.Call("removeItem", sessionKey)
		return
	}
	b, _ := json.Marshal(storedSession{Server: server, Token: sv.Token, LastSeq: sv.LastSeq, InputSeq: sv.InputSeq, Joined: sv.Joined})
	st.Call("setItem", sessionKey, string(b))
}

// follow keeps the player in a match: it resumes the session this tab had
// before a reload (if it saved one), follows the page's join link, and
// when the room is lost without the player leaving (the server restarted,
// the session could not be resumed in time) joins again: the same room
// first, then a quick join. Attempts that fail (a proxy answering 502, a
// server still starting) are retried, backing off from 1 s to 8 s. A
// player who leaves with Esc stays on the start screen.
func (p *page) follow(now time.Time) {
	v := p.s.View()
	if v.Phase == core.PhasePlaying || v.Phase == core.PhaseSpectating {
		p.want, p.inRoom, p.tries = true, true, 0
		p.room, p.spectate = v.RoomID, v.Phase == core.PhaseSpectating
		return
	}
	if p.inRoom { // just out of the room
		p.inRoom = false
		p.want = !p.left
		p.left = false
		p.nextTry = now.Add(time.Second)
	}
	if p.s.Busy() || now.Before(p.nextTry) {
		return
	}
	switch {
	case p.saved != nil:
		sv := *p.saved
		p.saved = nil
		if p.s.Resume(sv) {
			return // in the room, or back here to follow the link
		}
	case !p.want:
		return
	case p.room != "" && p.tries == 0:
		p.s.JoinRoom(p.room, p.spectate)
	case p.room != "":
		p.s.QuickJoin(p.spectate)
	default:
		p.join(p.autoJoin)
	}
	p.tries++
	p.nextTry = now.Add(time.Second << min(p.tries-1, 3))
}

func (p *page) Draw(screen *ebiten.Image) {
	now := time.Now()
	p.Game.Draw(screen)
	v := p.s.View()
	if v.Ready && p.firstDrawn == 0 {
		p.firstDrawn = sinceNavigation()
	}
	if !p.lastDraw.IsZero() && v.Ready {
		if len(p.intervals) == statsWindow {
			p.intervals = append(p.intervals[:0], p.intervals[statsWindow/2:]...)
		}
		p.intervals = append(p.intervals, now.Sub(p.lastDraw))
	}
	p.lastDraw = now
	if now.Sub(p.published) >= 500*time.Millisecond {
		p.published = now
		p.publish(v)
	}
}

// publish refreshes window.arenaStats. Setting its reset to true (a
// measurement starting) empties the frame intervals.
func (p *page) publish(v *core.View) {
	o := p.stats
	if o.Get("reset").Truthy() {
		o.Set("reset", false)
		p.intervals = p.intervals[:0]
	}
	o.Set("phase", v.Phase.String())
	o.Set("status", v.Status)
	o.Set("room", v.RoomID)
	o.Set("game", v.Game)
	o.Set("ready", v.Ready)
	self := 0
	if v.Scene != nil {
		self = int(v.Scene.Self)
	}
	o.Set("player", self)
	n := v.Net
	o.Set("transport", n.Transport)
	o.Set("snapshotRate", n.SnapshotRate)
	o.Set("rttMs", ms(n.RTT))
	o.Set("corrections", float64(n.Corrections))
	o.Set("predictionChecks", float64(n.PredictionChecks))
	o.Set("startedMs", p.startedMs)
	o.Set("firstDrawnMs", p.firstDrawn)
	o.Set("frames", len(p.intervals))
	o.Set("frameP50Ms", ms(render.Quantile(p.intervals, 0.5)))
	o.Set("frameP99Ms", ms(render.Quantile(p.intervals, 0.99)))
	o.Set("updated", fmt.Sprint(time.Now().UnixMilli()))
}

// sinceNavigation is the time since the page was opened (the navigation
// began: the request for /play), in milliseconds.
func sinceNavigation() float64 {
	perf := js.Global().Get("performance")
	if perf.Type() != js.TypeObject {
		return 0
	}
	return perf.Call("now").Float()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

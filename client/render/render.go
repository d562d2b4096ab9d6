// Package render is the desktop client's Ebiten shell, the same for every
// game: the start screen (name, the room list with each room's game, quick
// join, create, spectate), the status line, the net graph (F3), frame
// statistics and the screenshot option; Esc leaves a room. The match itself
// is drawn by the Renderer of the room's game (from a Renderers map the
// client's main fills), which also reads the player's controls into a
// game.Move that the shell hands to the client/core Session. Game logic
// lives in client/core and in the games, tested without a display; this
// package only translates.
//
// Only this package and the games' draw packages (games/NAME/draw) import
// Ebiten (deps_test.go). render never imports a game, the server or the
// bots.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/game"
)

// Screen size in pixels of the start screen, and of the window at zoom 1.
const (
	ScreenW = 1280
	ScreenH = 720
)

// Colours of the shell. Background fills the window under whatever the
// game draws (the window test tells it from the game's colours).
var (
	Background = color.RGBA{0x14, 0x16, 0x1c, 0xff}
	boxFill    = color.RGBA{0x1e, 0x22, 0x2b, 0xff}
	editFill   = color.RGBA{0x30, 0x36, 0x44, 0xff}
	panel      = color.RGBA{0x00, 0x00, 0x00, 0xb0}
	dim        = color.RGBA{0x90, 0x98, 0xa8, 0xff}
	// graph are the net graph's series colours.
	graph = []color.RGBA{
		{0xe6, 0x4b, 0x3c, 0xff}, {0x3c, 0x9d, 0xe6, 0xff}, {0x4c, 0xd1, 0x37, 0xff}, {0xf1, 0xc4, 0x0f, 0xff},
		{0xb0, 0x5c, 0xe6, 0xff}, {0xe6, 0x7e, 0x22, 0xff}, {0x1a, 0xd6, 0xc4, 0xff}, {0xf0, 0x6e, 0xb4, 0xff},
	}
)

// Options are the shell's settings; the zero value is an interactive
// client.
type Options struct {
	// AutoJoin acts on the start screen at once: "quick" (quick join),
	// "create" (create a room and join it), "spectate" (watch the fullest
	// room) or a room id to join. Empty: wait for the player.
	AutoJoin string
	// Screenshot, when set, is a PNG path written once the match has been
	// drawn (a snapshot is in) for ScreenshotAfter (default 3 s).
	Screenshot      string
	ScreenshotAfter time.Duration
	// ExitAfter ends the program this long after start; 0 runs until the
	// window closes.
	ExitAfter time.Duration
	// NetGraph shows the net graph from the start (F3 toggles it).
	NetGraph bool
	// FrameStats, when set, receives a summary of frame times at exit.
	FrameStats io.Writer
	// Zoom scales the match view (and the logical screen): 1 is the
	// renderer's Size (the arena: one pixel per world unit, 1280×720).
	// Smaller values cost fewer pixels, for small screens and software
	// rendering; the HUD's text keeps its size, and the start screen is
	// laid out at 1280×720 and scaled to the window. Default 1; 0.25..2.
	Zoom float64
}

// Game is the ebiten.Game. Only Ebiten's goroutine calls its methods; the
// network side never touches it (the Session's inbox is the only bridge).
type Game struct {
	s         *core.Session
	renderers Renderers
	opt       Options
	start     time.Time

	// The renderer of the current membership, made anew for each.
	r          Renderer
	rGame      string
	membership uint64
	move       game.Move

	showNet    bool
	editing    bool   // typing into the name field
	nameBuf    []rune // the name field
	selected   int    // highlighted room in the list
	autoJoined bool
	shotTaken  bool
	readyAt    time.Time
	shotErr    error

	frames   frameStats
	lastDraw time.Time
	runes    []rune
}

// New returns a Game drawing s, with the renderers of the games it can
// draw.
func New(s *core.Session, renderers Renderers, opt Options) *Game {
	if opt.ScreenshotAfter <= 0 {
		opt.ScreenshotAfter = 3 * time.Second
	}
	if opt.Zoom <= 0 {
		opt.Zoom = 1
	}
	opt.Zoom = min(max(opt.Zoom, 0.25), 2)
	return &Game{s: s, renderers: renderers, opt: opt, start: time.Now(), showNet: opt.NetGraph, nameBuf: []rune(s.Name())}
}

// ErrScreenshot wraps a failure to write the screenshot.
var ErrScreenshot = errors.New("render: screenshot")

// Layout fixes the logical screen at the match view's size (the
// renderer's Size times the zoom) while in a room; the start screen is
// always laid out at 1280×720. Ebiten scales it to the window.
func (g *Game) Layout(int, int) (int, int) {
	v := g.s.View()
	r := g.renderer(v)
	if v.Scene == nil || r == nil {
		return ScreenW, ScreenH
	}
	w, h := r.Size(v.Scene)
	return int(math.Round(float64(w) * g.opt.Zoom)), int(math.Round(float64(h) * g.opt.Zoom))
}

// Size is the window's size in pixels: 1280×720 times the zoom.
func (g *Game) Size() (w, h int) {
	return int(math.Round(ScreenW * g.opt.Zoom)), int(math.Round(ScreenH * g.opt.Zoom))
}

// renderer returns the renderer of v's membership, made when the
// membership starts; nil outside a room or for a game without one.
func (g *Game) renderer(v *core.View) Renderer {
	if v.Scene == nil {
		g.r, g.rGame = nil, ""
		return nil
	}
	if g.r == nil || v.Membership != g.membership || v.Game != g.rGame {
		g.r, g.rGame, g.membership = nil, v.Game, v.Membership
		if mk := g.renderers[v.Game]; mk != nil {
			g.r = mk()
		}
	}
	return g.r
}

// Update reads input, feeds the session and handles the menus.
func (g *Game) Update() error {
	t0 := time.Now()
	defer func() { g.frames.addUpdate(time.Since(t0)) }()
	if g.opt.ExitAfter > 0 && time.Since(g.start) >= g.opt.ExitAfter {
		return ebiten.Termination
	}
	if g.shotErr != nil {
		return g.shotErr
	}
	if g.opt.Screenshot != "" && g.shotTaken && g.opt.ExitAfter == 0 {
		return ebiten.Termination
	}
	v := g.s.View()
	if inpututil.IsKeyJustPressed(ebiten.KeyF3) {
		g.showNet = !g.showNet
	}
	g.move.Reset()
	switch v.Phase {
	case core.PhasePlaying, core.PhaseSpectating:
		if r := g.renderer(v); r != nil && v.Scene != nil {
			r.Controls(v.Scene, g.opt.Zoom, &g.move)
		}
		if inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
			g.s.Leave()
		}
	default:
		g.lobbyInput(v)
	}
	g.s.Update(time.Now(), &g.move)
	return nil
}

// The start screen's layout.
var (
	nameRect     = image.Rect(440, 180, 840, 204)
	quickRect    = image.Rect(440, 230, 630, 258)
	createRect   = image.Rect(650, 230, 840, 258)
	spectateRect = image.Rect(440, 268, 630, 296)
	refreshRect  = image.Rect(650, 268, 840, 296)
	listTop      = 340
	rowH         = 22
)

func (g *Game) lobbyInput(v *core.View) {
	if !g.autoJoined && g.opt.AutoJoin != "" {
		g.autoJoined = true
		g.act(g.opt.AutoJoin)
		return
	}
	clicked := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft)
	rightClicked := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonRight)
	mx, my := ebiten.CursorPosition()
	at := image.Pt(mx, my)
	if clicked {
		g.editing = at.In(nameRect)
	}
	if g.editing {
		g.runes = ebiten.AppendInputChars(g.runes[:0])
		for _, r := range g.runes {
			if len(string(g.nameBuf))+len(string(r)) <= 24 && r >= ' ' {
				g.nameBuf = append(g.nameBuf, r)
			}
		}
		if inpututil.IsKeyJustPressed(ebiten.KeyBackspace) && len(g.nameBuf) > 0 {
			g.nameBuf = g.nameBuf[:len(g.nameBuf)-1]
		}
		if inpututil.IsKeyJustPressed(ebiten.KeyEnter) || inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
			g.editing = false
		}
		g.s.SetName(strings.TrimSpace(string(g.nameBuf)))
		return
	}
	switch {
	case clicked && at.In(quickRect), inpututil.IsKeyJustPressed(ebiten.KeyQ):
		g.act("quick")
	case clicked && at.In(createRect), inpututil.IsKeyJustPressed(ebiten.KeyC):
		g.act("create")
	case clicked && at.In(spectateRect), inpututil.IsKeyJustPressed(ebiten.KeyV):
		g.act("spectate")
	case clicked && at.In(refreshRect), inpututil.IsKeyJustPressed(ebiten.KeyR):
		g.s.ListRooms()
	case inpututil.IsKeyJustPressed(ebiten.KeyArrowDown):
		g.selected = min(g.selected+1, max(len(v.Rooms)-1, 0))
	case inpututil.IsKeyJustPressed(ebiten.KeyArrowUp):
		g.selected = max(g.selected-1, 0)
	case inpututil.IsKeyJustPressed(ebiten.KeyEnter) && g.selected < len(v.Rooms):
		g.s.JoinRoom(v.Rooms[g.selected].ID, ebiten.IsKeyPressed(ebiten.KeyShift))
	case (clicked || rightClicked) && my >= listTop && mx >= nameRect.Min.X && mx < nameRect.Max.X:
		if i := (my - listTop) / rowH; i < len(v.Rooms) {
			g.selected = i
			g.s.JoinRoom(v.Rooms[i].ID, rightClicked)
		}
	}
}

func (g *Game) act(what string) {
	switch what {
	case "quick":
		g.s.QuickJoin(false)
	case "create":
		g.s.CreateAndJoin(0)
	case "spectate":
		g.s.QuickJoin(true)
	default:
		g.s.JoinRoom(what, false)
	}
}

// Draw draws the view: in a room the game's renderer draws the match and
// the shell its status line over it; otherwise the start screen.
func (g *Game) Draw(screen *ebiten.Image) {
	t0 := time.Now()
	if !g.lastDraw.IsZero() {
		g.frames.addInterval(t0.Sub(g.lastDraw))
	}
	g.lastDraw = t0
	screen.Fill(Background)
	v := g.s.View()
	if v.Scene != nil {
		if r := g.renderer(v); r != nil {
			r.Draw(screen, v.Scene, g.opt.Zoom)
		} else {
			ebitenutil.DebugPrintAt(screen, fmt.Sprintf("this client cannot draw %q; [Esc] leaves", v.Game), 8, 40)
		}
		g.drawHUD(screen, v)
	} else {
		g.drawLobby(screen, v)
	}
	if g.showNet {
		drawNetGraph(screen, v)
	}
	g.frames.addDraw(time.Since(t0))
	g.maybeScreenshot(screen, v)
}

func (g *Game) maybeScreenshot(screen *ebiten.Image, v *core.View) {
	if g.opt.Screenshot == "" || g.shotTaken || !v.Ready {
		return
	}
	if g.readyAt.IsZero() {
		g.readyAt = time.Now()
	}
	if time.Since(g.readyAt) < g.opt.ScreenshotAfter {
		return
	}
	g.shotTaken = true
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		g.shotErr = fmt.Errorf("%w: %v", ErrScreenshot, err)
		return
	}
	if err := os.WriteFile(g.opt.Screenshot, buf.Bytes(), 0o644); err != nil {
		g.shotErr = fmt.Errorf("%w: %v", ErrScreenshot, err)
	}
}

// drawHUD draws the status line of a room.
func (g *Game) drawHUD(screen *ebiten.Image, v *core.View) {
	line := fmt.Sprintf("room %s  %s  %s  [F3] net graph  [Esc] leave", v.RoomID, v.Game, v.Phase)
	if v.Phase == core.PhasePlaying {
		line += fmt.Sprintf("  corrections %d", v.Net.Corrections)
	}
	ebitenutil.DebugPrintAt(screen, line, 8, 4)
	if !v.Ready {
		ebitenutil.DebugPrintAt(screen, "waiting for the first snapshot…", 8, 20)
	}
}

func (g *Game) drawLobby(screen *ebiten.Image, v *core.View) {
	ebitenutil.DebugPrintAt(screen, "ARENA SERVER", 604, 120)
	ebitenutil.DebugPrintAt(screen, fmt.Sprintf("quick join and create play %s", g.s.Game()), nameRect.Min.X, 140)
	ebitenutil.DebugPrintAt(screen, "name (click to edit, Enter to confirm):", nameRect.Min.X, nameRect.Min.Y-18)
	fill := boxFill
	if g.editing {
		fill = editFill
	}
	box(screen, nameRect, fill)
	cursor := ""
	if g.editing && (time.Since(g.start)/(400*time.Millisecond))%2 == 0 {
		cursor = "_"
	}
	ebitenutil.DebugPrintAt(screen, string(g.nameBuf)+cursor, nameRect.Min.X+6, nameRect.Min.Y+4)
	button(screen, quickRect, "[Q] quick join")
	button(screen, createRect, "[C] create a room")
	button(screen, spectateRect, "[V] spectate")
	button(screen, refreshRect, "[R] list rooms")
	ebitenutil.DebugPrintAt(screen, "rooms (click or Enter: join, right click or Shift+Enter: watch):", nameRect.Min.X, listTop-20)
	for i, r := range v.Rooms {
		y := listTop + i*rowH
		if i == g.selected {
			vector.FillRect(screen, float32(nameRect.Min.X), float32(y), float32(nameRect.Dx()), float32(rowH-2), boxFill, false)
		}
		line := fmt.Sprintf("%-12s %-10s %2d/%-2d players", r.ID, r.Game, r.Players, r.Capacity)
		if g.renderers[r.Game] == nil {
			line += "  (cannot play)"
		}
		ebitenutil.DebugPrintAt(screen, line, nameRect.Min.X+6, y+3)
	}
	status := v.Status
	if v.Busy {
		status += " (working)"
	}
	ebitenutil.DebugPrintAt(screen, status, nameRect.Min.X, screen.Bounds().Dy()-40)
}

func box(screen *ebiten.Image, r image.Rectangle, c color.Color) {
	vector.FillRect(screen, float32(r.Min.X), float32(r.Min.Y), float32(r.Dx()), float32(r.Dy()), c, false)
	vector.StrokeRect(screen, float32(r.Min.X), float32(r.Min.Y), float32(r.Dx()), float32(r.Dy()), 1, dim, false)
}

func button(screen *ebiten.Image, r image.Rectangle, label string) {
	box(screen, r, boxFill)
	ebitenutil.DebugPrintAt(screen, label, r.Min.X+(r.Dx()-6*len(label))/2, r.Min.Y+(r.Dy()-16)/2)
}

// drawNetGraph draws the net graph in the bottom-left corner: the figures
// as text and, for each, a plot of the last ten seconds.
func drawNetGraph(screen *ebiten.Image, v *core.View) {
	n := v.Net
	type row struct {
		label string
		s     *core.Series
		c     color.RGBA
	}
	rows := []row{
		{fmt.Sprintf("rtt %4.0f ms", ms(n.RTT)), &n.RTTms, graph[1]},
		{fmt.Sprintf("jitter %4.1f ms", ms(n.Jitter)), &n.JitterMs, graph[3]},
		{fmt.Sprintf("snap %4.1f /s", n.SnapshotRate), &n.SnapRate, graph[2]},
		{fmt.Sprintf("down %5.0f B/s", n.DownBps), &n.Down, graph[6]},
		{fmt.Sprintf("up   %5.0f B/s", n.UpBps), &n.Up, graph[7]},
		{fmt.Sprintf("corr %d (%.1f/min)", n.Corrections, n.CorrectionsPerMin), &n.CorrectionsSeries, graph[0]},
		{fmt.Sprintf("buffer %3.0f ms/%d", ms(n.BufferDepth), n.BufferStates), &n.DepthMs, graph[4]},
		{fmt.Sprintf("interp %3.0f ms", ms(n.InterpDelay)), &n.InterpMs, graph[5]},
	}
	const plotW, rowH = float32(core.SeriesLen), 26
	w := float32(150) + plotW + 16
	h := float32(len(rows))*rowH + 40
	x0, y0 := float32(8), float32(screen.Bounds().Dy())-h-8
	vector.FillRect(screen, x0, y0, w, h, panel, false)
	head := "net: " + n.Transport
	if n.Link != "" {
		head += "  link: " + n.Link
	}
	ebitenutil.DebugPrintAt(screen, head, int(x0)+6, int(y0)+4)
	ebitenutil.DebugPrintAt(screen, fmt.Sprintf("pending inputs %d  dry frames %d", n.PendingInputs, n.DryFrames), int(x0)+6, int(y0)+18)
	for i, r := range rows {
		y := y0 + 36 + float32(i)*rowH
		ebitenutil.DebugPrintAt(screen, r.label, int(x0)+6, int(y)+4)
		px0 := x0 + 150
		vector.StrokeRect(screen, px0, y, plotW, rowH-4, 1, color.RGBA{0x40, 0x40, 0x48, 0xff}, false)
		top := r.s.Max()
		if top <= 0 {
			continue
		}
		for j := range r.s.Len() {
			hgt := float32(r.s.At(j)/top) * (rowH - 6)
			vector.FillRect(screen, px0+float32(j), y+rowH-5-hgt, 1, hgt, r.c, false)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Close reports the frame statistics, if asked for.
func (g *Game) Close() {
	if g.opt.FrameStats != nil {
		g.frames.report(g.opt.FrameStats)
	}
}

// Package render is the desktop client's Ebiten shell: it reads the
// keyboard and mouse, hands the player's input to a client/core Session,
// and draws the Session's View (the arena, players, projectiles, health
// bars and names, the kill feed, the scoreboard on Tab, the net graph on
// F3, and the start screen). Game logic lives in client/core, which is
// tested without a display; this package only translates.
//
// Only the client's packages may import Ebiten (deps_test.go); render is
// one of them. It never imports the server or the bots.
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
	"slices"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/games/arena/sim"
)

// Screen size in pixels: the default arena (1280×720 world units) at one
// pixel per world unit.
const (
	ScreenW = 1280
	ScreenH = 720
)

// Colours. Players take Palette[(id-1) % len(Palette)]; walls WallColor;
// the floor Background. The window test looks for these exact values.
var (
	Background = color.RGBA{0x14, 0x16, 0x1c, 0xff}
	Floor      = color.RGBA{0x1e, 0x22, 0x2b, 0xff}
	WallColor  = color.RGBA{0x5a, 0x64, 0x78, 0xff}
	Palette    = []color.RGBA{
		{0xe6, 0x4b, 0x3c, 0xff}, // red
		{0x3c, 0x9d, 0xe6, 0xff}, // blue
		{0x4c, 0xd1, 0x37, 0xff}, // green
		{0xf1, 0xc4, 0x0f, 0xff}, // yellow
		{0xb0, 0x5c, 0xe6, 0xff}, // purple
		{0xe6, 0x7e, 0x22, 0xff}, // orange
		{0x1a, 0xd6, 0xc4, 0xff}, // teal
		{0xf0, 0x6e, 0xb4, 0xff}, // pink
	}
	white  = color.RGBA{0xff, 0xff, 0xff, 0xff}
	panel  = color.RGBA{0x00, 0x00, 0x00, 0xb0}
	dim    = color.RGBA{0x90, 0x98, 0xa8, 0xff}
	hpGood = color.RGBA{0x5c, 0xd6, 0x5c, 0xff}
	hpBad  = color.RGBA{0xd6, 0x3c, 0x3c, 0xff}
)

// PlayerColor is the colour of player id.
func PlayerColor(id sim.PlayerID) color.RGBA {
	if id == 0 {
		return dim
	}
	return Palette[int(id-1)%len(Palette)]
}

// Options are the shell's settings; the zero value is an interactive
// client.
type Options struct {
	// AutoJoin acts on the start screen at once: "quick" (quick join),
	// "create" (create a room and join it), "spectate" (watch the fullest
	// room) or a room id to join. Empty: wait for the player.
	AutoJoin string
	// Screenshot, when set, is a PNG path written once the arena has been
	// drawn for ScreenshotAfter (default 3 s).
	Screenshot      string
	ScreenshotAfter time.Duration
	// ExitAfter ends the program this long after start; 0 runs until the
	// window closes.
	ExitAfter time.Duration
	// NetGraph shows the net graph from the start (F3 toggles it).
	NetGraph bool
	// FrameStats, when set, receives a summary of frame times at exit.
	FrameStats io.Writer
	// Zoom scales the arena (and the logical screen): 1 draws one pixel per
	// world unit (1280×720). Smaller values cost fewer pixels, for small
	// screens and software rendering; the HUD's text keeps its size, and
	// the start screen is laid out at 1280×720 and scaled to the window.
	// Default 1; 0.25..2.
	Zoom float64
}

// Game is the ebiten.Game. Only Ebiten's goroutine calls its methods; the
// network side never touches it (the Session's inbox is the only bridge).
type Game struct {
	s     *core.Session
	opt   Options
	start time.Time

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

// New returns a Game drawing s.
func New(s *core.Session, opt Options) *Game {
	if opt.ScreenshotAfter <= 0 {
		opt.ScreenshotAfter = 3 * time.Second
	}
	if opt.Zoom <= 0 {
		opt.Zoom = 1
	}
	opt.Zoom = min(max(opt.Zoom, 0.25), 2)
	return &Game{s: s, opt: opt, start: time.Now(), showNet: opt.NetGraph, nameBuf: []rune(s.Name())}
}

// ErrScreenshot wraps a failure to write the screenshot.
var ErrScreenshot = errors.New("render: screenshot")

// Layout fixes the logical screen at the arena's size times the zoom
// while in a room; the start screen is always laid out at 1280×720. Ebiten
// scales it to the window.
func (g *Game) Layout(int, int) (int, int) {
	if g.s.View().Arena == nil {
		return ScreenW, ScreenH
	}
	return g.Size()
}

// Size is the logical screen size in pixels.
func (g *Game) Size() (w, h int) {
	return int(math.Round(ScreenW * g.opt.Zoom)), int(math.Round(ScreenH * g.opt.Zoom))
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
	var in sim.Input
	switch v.Phase {
	case core.PhasePlaying:
		in = g.playerInput(v)
		if inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
			g.s.Leave()
		}
	case core.PhaseSpectating:
		if inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
			g.s.Leave()
		}
	default:
		g.lobbyInput(v)
	}
	g.s.Update(time.Now(), in)
	return nil
}

// playerInput maps WASD/arrows, the mouse and its left button to an input.
func (g *Game) playerInput(v *core.View) sim.Input {
	var b sim.Buttons
	key := func(keys ...ebiten.Key) bool {
		return slices.ContainsFunc(keys, ebiten.IsKeyPressed)
	}
	if key(ebiten.KeyW, ebiten.KeyArrowUp) {
		b |= sim.ButtonUp
	}
	if key(ebiten.KeyS, ebiten.KeyArrowDown) {
		b |= sim.ButtonDown
	}
	if key(ebiten.KeyA, ebiten.KeyArrowLeft) {
		b |= sim.ButtonLeft
	}
	if key(ebiten.KeyD, ebiten.KeyArrowRight) {
		b |= sim.ButtonRight
	}
	if ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) {
		b |= sim.ButtonFire
	}
	in := sim.Input{Buttons: b}
	mx, my := ebiten.CursorPosition()
	for _, p := range v.Players {
		if p.Self {
			in.Aim = AimAt(float64(mx)-float64(g.px(p.X)), float64(my)-float64(g.px(p.Y)))
		}
	}
	return in
}

// AimAt converts a screen offset (y down) to an aim angle, as PROTOCOL.md
// 9.2 says: round(atan2(dy, dx) / 2π · 1024) mod 1024.
func AimAt(dx, dy float64) uint16 {
	a := int(math.Round(math.Atan2(dy, dx)/(2*math.Pi)*sim.AimSteps)) % sim.AimSteps
	if a < 0 {
		a += sim.AimSteps
	}
	return uint16(a)
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

// Draw draws the view.
func (g *Game) Draw(screen *ebiten.Image) {
	t0 := time.Now()
	if !g.lastDraw.IsZero() {
		g.frames.addInterval(t0.Sub(g.lastDraw))
	}
	g.lastDraw = t0
	screen.Fill(Background)
	v := g.s.View()
	if v.Arena != nil {
		g.drawArena(screen, v)
		g.drawHUD(screen, v)
		if ebiten.IsKeyPressed(ebiten.KeyTab) {
			drawScoreboard(screen, v)
		}
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

// px converts fixed-point units to screen pixels.
func (g *Game) px(v float64) float32 { return float32(v / sim.Scale * g.opt.Zoom) }

func (g *Game) drawArena(screen *ebiten.Image, v *core.View) {
	a := v.Arena
	vector.FillRect(screen, 0, 0, g.px(float64(a.Width)), g.px(float64(a.Height)), Floor, false)
	for _, w := range a.Walls {
		vector.FillRect(screen, g.px(float64(w.X)), g.px(float64(w.Y)), g.px(float64(w.W)), g.px(float64(w.H)), WallColor, false)
	}
	half := g.px(float64(v.Rules.PlayerHalf))
	for _, pr := range v.Projectiles {
		c := PlayerColor(pr.Owner)
		c = color.RGBA{lighten(c.R), lighten(c.G), lighten(c.B), 0xff}
		vector.FillCircle(screen, g.px(pr.X), g.px(pr.Y), max(g.px(float64(v.Rules.ProjectileRadius)), 2), c, true)
	}
	for _, p := range v.Players {
		x, y := g.px(p.X), g.px(p.Y)
		if !p.Alive {
			vector.StrokeLine(screen, x-half, y-half, x+half, y+half, 2, dim, true)
			vector.StrokeLine(screen, x-half, y+half, x+half, y-half, 2, dim, true)
			continue
		}
		vector.FillRect(screen, x-half, y-half, 2*half, 2*half, PlayerColor(p.ID), false)
		if p.Self {
			vector.StrokeRect(screen, x-half-1, y-half-1, 2*half+2, 2*half+2, 2, white, false)
		}
		ang := p.Aim / sim.AimSteps * 2 * math.Pi
		vector.StrokeLine(screen, x, y, x+float32(math.Cos(ang))*(half+10), y+float32(math.Sin(ang))*(half+10), 3, white, true)
		// Health bar and name above the square.
		frac := float32(p.Health) / float32(max(p.MaxHealth, 1))
		vector.FillRect(screen, x-half, y-half-7, 2*half, 4, hpBad, false)
		vector.FillRect(screen, x-half, y-half-7, 2*half*frac, 4, hpGood, false)
		ebitenutil.DebugPrintAt(screen, p.Name, int(x)-3*len(p.Name), max(int(y-half)-24, 0))
	}
}

func lighten(c uint8) uint8 { return uint8(min(255, int(c)+(255-int(c))/2)) }

func (g *Game) drawHUD(screen *ebiten.Image, v *core.View) {
	line := fmt.Sprintf("room %s  %s  [Tab] scores  [F3] net graph  [Esc] leave", v.RoomID, v.Phase)
	if v.Phase == core.PhasePlaying {
		line += fmt.Sprintf("  corrections %d", v.Net.Corrections)
	}
	ebitenutil.DebugPrintAt(screen, line, 8, 4)
	if !v.Ready {
		ebitenutil.DebugPrintAt(screen, "waiting for the first snapshot…", 8, 20)
	}
	y := 4
	for _, k := range v.KillFeed {
		s := fmt.Sprintf("%s  >  %s", k.KillerName, k.VictimName)
		sw, _ := g.Size()
		x := sw - 8 - 6*len(s)
		vector.FillRect(screen, float32(x-4), float32(y), float32(6*len(s)+8), 16, panel, false)
		vector.FillRect(screen, float32(x-4), float32(y), 3, 16, PlayerColor(k.Killer), false)
		ebitenutil.DebugPrintAt(screen, s, x, y)
		y += 18
	}
}

func drawScoreboard(screen *ebiten.Image, v *core.View) {
	w, h := 420, 40+18*len(v.Scores)
	x0, y0 := (screen.Bounds().Dx()-w)/2, 120
	vector.FillRect(screen, float32(x0), float32(y0), float32(w), float32(h), panel, false)
	ebitenutil.DebugPrintAt(screen, fmt.Sprintf("%-24s %6s %6s", "player", "kills", "deaths"), x0+24, y0+8)
	for i, s := range v.Scores {
		y := y0 + 30 + 18*i
		vector.FillRect(screen, float32(x0+8), float32(y+3), 10, 10, PlayerColor(s.ID), false)
		name := s.Name
		if s.Self {
			name += " (you)"
		}
		ebitenutil.DebugPrintAt(screen, fmt.Sprintf("%-24s %6d %6d", name, s.Kills, s.Deaths), x0+24, y)
	}
}

func (g *Game) drawLobby(screen *ebiten.Image, v *core.View) {
	ebitenutil.DebugPrintAt(screen, "ARENA", 620, 120)
	ebitenutil.DebugPrintAt(screen, "name (click to edit, Enter to confirm):", nameRect.Min.X, nameRect.Min.Y-18)
	fill := Floor
	if g.editing {
		fill = color.RGBA{0x30, 0x36, 0x44, 0xff}
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
			vector.FillRect(screen, float32(nameRect.Min.X), float32(y), float32(nameRect.Dx()), float32(rowH-2), Floor, false)
		}
		ebitenutil.DebugPrintAt(screen, fmt.Sprintf("%-12s %2d/%-2d players", r.ID, r.Players, r.Capacity), nameRect.Min.X+6, y+3)
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
	box(screen, r, Floor)
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
		{fmt.Sprintf("rtt %4.0f ms", ms(n.RTT)), &n.RTTms, Palette[1]},
		{fmt.Sprintf("jitter %4.1f ms", ms(n.Jitter)), &n.JitterMs, Palette[3]},
		{fmt.Sprintf("snap %4.1f /s", n.SnapshotRate), &n.SnapRate, Palette[2]},
		{fmt.Sprintf("down %5.0f B/s", n.DownBps), &n.Down, Palette[6]},
		{fmt.Sprintf("up   %5.0f B/s", n.UpBps), &n.Up, Palette[7]},
		{fmt.Sprintf("corr %d (%.1f/min)", n.Corrections, n.CorrectionsPerMin), &n.CorrectionsSeries, Palette[0]},
		{fmt.Sprintf("buffer %3.0f ms/%d", ms(n.BufferDepth), n.BufferStates), &n.DepthMs, Palette[4]},
		{fmt.Sprintf("interp %3.0f ms", ms(n.InterpDelay)), &n.InterpMs, Palette[5]},
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

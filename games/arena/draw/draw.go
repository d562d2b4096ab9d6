// Package draw is the arena's renderer for the desktop client: the floor,
// the walls, the players with their aim, health bars and names, the shots,
// the kill feed and the scoreboard (Tab); and the arena's controls (WASD or
// arrows move, the mouse aims, the left button fires), encoded with
// arena.AppendInput.
//
// A Renderer has the method set of the client shell's render.Renderer; the
// client's main registers New for the arena. What it draws is computed by
// Frame, KillFeed and Scores without a display, and tested so.
//
// draw imports Ebiten, the game API and the arena; never the client, the
// network code, the server or the bots. The arena package itself does not
// link Ebiten: the server and the bots use it without a display.
package draw

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
)

// The default view size in pixels at zoom 1, until the room describes its
// map: the default arena (1280×720 world units) at one pixel per unit.
const (
	DefaultW = 1280
	DefaultH = 720
)

// Colours. Players take Palette[(id-1) % len(Palette)]; walls WallColor;
// the floor Floor. The window test looks for these exact values.
var (
	Floor     = color.RGBA{0x1e, 0x22, 0x2b, 0xff}
	WallColor = color.RGBA{0x5a, 0x64, 0x78, 0xff}
	Palette   = []color.RGBA{
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
func PlayerColor(id game.PlayerID) color.RGBA {
	if id == 0 {
		return dim
	}
	return Palette[int(id-1)%len(Palette)]
}

// killFeedAge is how long a kill stays in the feed.
const killFeedAge = 6 // seconds

// Renderer draws an arena room. Make one per membership (the kill feed
// remembers the states it has seen); only Ebiten's goroutine calls it.
type Renderer struct {
	frame  Frame
	feed   KillFeed
	scores []Score
	aim    uint16 // the last aim, kept while the own player is not drawn
}

// New returns a renderer for one arena membership.
func New() *Renderer { return &Renderer{} }

// Size is the arena's size in world units (one pixel each at zoom 1);
// the default arena's before the room described its map.
func (r *Renderer) Size(s *game.Scene) (w, h int) {
	cl, ok := s.Client.(*arena.Client)
	if !ok || cl.Config.Arena.Width <= 0 || cl.Config.Arena.Height <= 0 {
		return DefaultW, DefaultH
	}
	return int(cl.Config.Arena.Width / sim.Scale), int(cl.Config.Arena.Height / sim.Scale)
}

// Controls maps WASD or the arrows, the mouse and its left button to one
// arena input: the buttons held and the aim from the own player, as drawn,
// to the cursor.
func (r *Renderer) Controls(s *game.Scene, zoom float64, m *game.Move) {
	var b sim.Buttons
	key := func(keys ...ebiten.Key) bool { return slices.ContainsFunc(keys, ebiten.IsKeyPressed) }
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
	r.frame.Build(s)
	if p := r.frame.Self(); p != nil {
		mx, my := ebiten.CursorPosition()
		r.aim = AimAt(float64(mx)-px(p.X, zoom), float64(my)-px(p.Y, zoom))
	}
	m.Input = arena.AppendInput(m.Input, b, r.aim)
}

// AimAt converts a screen offset (y down) to an aim angle, as PROTOCOL.md
// says: round(atan2(dy, dx) / 2π · 1024) mod 1024.
func AimAt(dx, dy float64) uint16 {
	a := int(math.Round(math.Atan2(dy, dx)/(2*math.Pi)*sim.AimSteps)) % sim.AimSteps
	if a < 0 {
		a += sim.AimSteps
	}
	return uint16(a)
}

// px converts fixed-point units to pixels at zoom.
func px(v, zoom float64) float64 { return v / sim.Scale * zoom }

// Draw draws the arena, the kill feed and, while Tab is held, the
// scoreboard.
func (r *Renderer) Draw(dst *ebiten.Image, s *game.Scene, zoom float64) {
	r.frame.Build(s)
	r.feed.Observe(s)
	cfg := r.frame.Config
	if cfg == nil {
		return
	}
	p := func(v float64) float32 { return float32(px(v, zoom)) }
	a := cfg.Arena
	vector.FillRect(dst, 0, 0, p(float64(a.Width)), p(float64(a.Height)), Floor, false)
	for _, w := range a.Walls {
		vector.FillRect(dst, p(float64(w.X)), p(float64(w.Y)), p(float64(w.W)), p(float64(w.H)), WallColor, false)
	}
	if !s.Ready {
		return
	}
	half := p(float64(cfg.Rules.PlayerHalf))
	for _, sh := range r.frame.Shots {
		c := PlayerColor(sh.Owner)
		c = color.RGBA{lighten(c.R), lighten(c.G), lighten(c.B), 0xff}
		vector.FillCircle(dst, p(sh.X), p(sh.Y), max(p(float64(cfg.Rules.ProjectileRadius)), 2), c, true)
	}
	for _, pl := range r.frame.Players {
		x, y := p(pl.X), p(pl.Y)
		if !pl.Alive {
			vector.StrokeLine(dst, x-half, y-half, x+half, y+half, 2, dim, true)
			vector.StrokeLine(dst, x-half, y+half, x+half, y-half, 2, dim, true)
			continue
		}
		vector.FillRect(dst, x-half, y-half, 2*half, 2*half, PlayerColor(pl.ID), false)
		if pl.Self {
			vector.StrokeRect(dst, x-half-1, y-half-1, 2*half+2, 2*half+2, 2, white, false)
		}
		ang := pl.Aim / sim.AimSteps * 2 * math.Pi
		vector.StrokeLine(dst, x, y, x+float32(math.Cos(ang))*(half+10), y+float32(math.Sin(ang))*(half+10), 3, white, true)
		// Health bar and name above the square.
		frac := float32(pl.Health) / float32(max(pl.MaxHealth, 1))
		vector.FillRect(dst, x-half, y-half-7, 2*half, 4, hpBad, false)
		vector.FillRect(dst, x-half, y-half-7, 2*half*frac, 4, hpGood, false)
		ebitenutil.DebugPrintAt(dst, pl.Name, int(x)-3*len(pl.Name), max(int(y-half)-24, 0))
	}
	r.drawKillFeed(dst, s, cfg.Rules.TickRate)
	ebitenutil.DebugPrintAt(dst, "[Tab] scores", 8, 20)
	if ebiten.IsKeyPressed(ebiten.KeyTab) {
		r.scores = Scores(s, r.scores[:0])
		drawScoreboard(dst, r.scores)
	}
}

func lighten(c uint8) uint8 { return uint8(min(255, int(c)+(255-int(c))/2)) }

func (r *Renderer) drawKillFeed(dst *ebiten.Image, s *game.Scene, tickRate uint32) {
	y := 4
	w := dst.Bounds().Dx()
	for _, k := range r.feed.Recent(s.Newest.Tick, killFeedAge*max(tickRate, 1)) {
		line := fmt.Sprintf("%s  >  %s", k.KillerName, k.VictimName)
		x := w - 8 - 6*len(line)
		vector.FillRect(dst, float32(x-4), float32(y), float32(6*len(line)+8), 16, panel, false)
		vector.FillRect(dst, float32(x-4), float32(y), 3, 16, PlayerColor(k.Killer), false)
		ebitenutil.DebugPrintAt(dst, line, x, y)
		y += 18
	}
}

func drawScoreboard(dst *ebiten.Image, scores []Score) {
	w, h := 420, 40+18*len(scores)
	x0, y0 := (dst.Bounds().Dx()-w)/2, 120
	vector.FillRect(dst, float32(x0), float32(y0), float32(w), float32(h), panel, false)
	ebitenutil.DebugPrintAt(dst, fmt.Sprintf("%-24s %6s %6s", "player", "kills", "deaths"), x0+24, y0+8)
	for i, s := range scores {
		y := y0 + 30 + 18*i
		vector.FillRect(dst, float32(x0+8), float32(y+3), 10, 10, PlayerColor(s.ID), false)
		name := s.Name
		if s.Self {
			name += " (you)"
		}
		ebitenutil.DebugPrintAt(dst, fmt.Sprintf("%-24s %6d %6d", name, s.Kills, s.Deaths), x0+24, y)
	}
}

package arena

import (
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
)

// sketch draws an arena state for the dashboard: walls, players (labelled,
// grey while dead) and shots where they fly at the state's tick.
func sketch(describe []byte, t *game.Table, s *game.Sketch) {
	c, err := NewClient(describe)
	if err != nil {
		return
	}
	cfg := &c.Config
	scale := float64(sim.Scale)
	s.Width, s.Height = float64(cfg.Arena.Width)/scale, float64(cfg.Arena.Height)/scale
	for _, w := range cfg.Arena.Walls {
		s.Rect(float64(w.X)/scale, float64(w.Y)/scale, float64(w.W)/scale, float64(w.H)/scale, "#5a6478", true)
	}
	for i := range t.Len(KindShot) {
		pr := ShotOf(t.ID(KindShot, i), t.Row(KindShot, i))
		x, y := cfg.ProjectilePos(&pr, t.Tick)
		s.Circle(float64(x)/scale, float64(y)/scale, float64(cfg.Rules.ProjectileRadius)/scale, "#ffffff", 0)
	}
	half := float64(cfg.Rules.PlayerHalf) / scale
	for i := range t.Len(KindPlayer) {
		row := t.Row(KindPlayer, i)
		x, y := float64(row[PX])/scale, float64(row[PY])/scale
		color := ""
		if row[PHealth] == 0 {
			color = "#555555"
		} else {
			dx, dy := sim.Dir(uint16(row[PAim]))
			s.Line(x, y, x+2*half*float64(dx)/16384, y+2*half*float64(dy)/16384, "#ffffff")
			s.Rect(x-half, y-half-6, 2*half*float64(row[PHealth])/float64(max(cfg.Rules.MaxHealth, 1)), 3, "#3fb950", true)
		}
		s.Circle(x, y, half, color, game.PlayerID(t.ID(KindPlayer, i)))
	}
}

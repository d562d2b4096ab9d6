package render

import (
	"github.com/hajimehoshi/ebiten/v2"

	"github.com/arenaserver/arena/game"
)

// Renderer draws one game's match in the desktop client and reads the
// player's controls for it. A game provides one in a package of its own
// (games/NAME/draw: it links Ebiten, which the game's rules package must
// not). That package need not import this one: its type only has these
// methods, and the client's main registers its constructor by game name.
// The shell (this package) owns the window, the start screen, the status
// line, the net graph, the frame statistics, F3 and Esc, and calls the
// renderer only while the player is in a room of its game. Only Ebiten's
// goroutine calls it.
type Renderer interface {
	// Size is the logical size in pixels of the match view at zoom 1 for
	// this scene (the arena's map is 1280×720).
	Size(s *game.Scene) (w, h int)
	// Controls reads the keyboard and mouse for one frame and writes the
	// player's move into m (reset by the caller): Input is the input the
	// player holds now (a movement game fills it every frame; the client
	// sends it once per server tick), Events are sent at once. zoom is the
	// scale of the match view: cursor positions are in view pixels, so
	// divide them by zoom for the game's units at zoom 1. A spectator's
	// controls are read too; the shell sends nothing for them.
	Controls(s *game.Scene, zoom float64, m *game.Move)
	// Draw draws the scene on dst, which is the match view: Size times
	// zoom. It is called every frame, also before the first snapshot
	// (s.Ready false). The shell draws its status line over the top-left
	// corner (two lines of text) afterwards.
	Draw(dst *ebiten.Image, s *game.Scene, zoom float64)
}

// Renderers maps game names to renderer constructors: what a client build
// can draw. The client's main fills it. The shell calls a constructor once
// per membership (each room joined or watched), so a renderer may keep
// state across frames (a kill feed, an animation) without resetting it.
type Renderers map[string]func() Renderer

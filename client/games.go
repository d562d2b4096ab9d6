package main

import (
	"fmt"
	"io"

	"github.com/arenaserver/arena/client/render"
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	arenadraw "github.com/arenaserver/arena/games/arena/draw"
	"github.com/arenaserver/arena/games/canvas"
	canvasdraw "github.com/arenaserver/arena/games/canvas/draw"
)

// playable is a game this client can play: its definition and its
// renderer.
type playable struct {
	def      *game.Def
	renderer func() render.Renderer
}

// playables are the games of this client, the default of -game first: the
// only place the client's code names a game. Adding a game takes two
// lines: the import of its draw package and its entry here.
var playables = []playable{
	{arena.Def, func() render.Renderer { return arenadraw.New() }},
	{canvas.Def, func() render.Renderer { return canvasdraw.New() }},
}

// games builds the registry of playables and their renderers.
func games() (*game.Registry, render.Renderers) {
	reg := &game.Registry{}
	rs := render.Renderers{}
	for _, p := range playables {
		if err := reg.Register(p.def); err != nil {
			panic(err) // a game's definition is broken: a programming error
		}
		rs[p.def.Name] = p.renderer
	}
	return reg, rs
}

// printGames lists the games for -h.
func printGames(w io.Writer, reg *game.Registry) {
	fmt.Fprintf(w, "Games (-game NAME; the first is the default):\n")
	for _, d := range reg.Defs() {
		fmt.Fprintf(w, "  %-10s %s\n", d.Name, d.Summary)
	}
	fmt.Fprintln(w)
}

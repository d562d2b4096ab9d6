package main

import (
	"fmt"
	"io"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/canvas"
)

// games is the registry of the games the bots can play, each with a Brain:
// the only place the bots' code names a game (bots/swarm never does). The
// first is the default of -game. To offer another game, add its Def here
// (one line).
func games() *game.Registry {
	r, err := game.NewRegistry(
		arena.Def,
		canvas.Def,
	)
	if err != nil {
		panic(err) // a game's definition is broken: a programming error
	}
	return r
}

// printGames lists the registry for -h.
func printGames(w io.Writer, reg *game.Registry) {
	fmt.Fprintf(w, "Games (-game NAME; the first is the default):\n")
	for _, d := range reg.Defs() {
		fmt.Fprintf(w, "  %-10s %s\n", d.Name, d.Summary)
	}
	fmt.Fprintln(w)
}

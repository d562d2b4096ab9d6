package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/canvas"
)

// games is the registry of the games this server can host: the only place
// the server's code names a game (the engine packages never do).
func games() *game.Registry {
	r, err := game.NewRegistry(arena.Def, canvas.Def)
	if err != nil {
		panic(err) // a game's definition is broken: a programming error
	}
	return r
}

// printGames lists the registry for -h: each game, its summary and its
// parameters.
func printGames(w io.Writer, reg *game.Registry) {
	fmt.Fprintf(w, "Games (-game NAME[,NAME...]; the first is the default):\n")
	for _, d := range reg.Defs() {
		fmt.Fprintf(w, "  %-10s %s\n", d.Name, d.Summary)
		for _, p := range d.Params {
			fmt.Fprintf(w, "             -game-param %s.%s=VALUE  %s (default %s)\n", d.Name, p.Name, p.Usage, p.Default)
		}
	}
	fmt.Fprintln(w)
}

// gameParams is the repeatable -game-param flag: GAME.NAME=VALUE.
type gameParams map[string]map[string]string

func (p gameParams) String() string {
	var parts []string
	for g, kv := range p {
		for k, v := range kv {
			parts = append(parts, g+"."+k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// Set takes GAME.NAME=VALUE, or several separated by commas (as an
// environment variable gives them).
func (p gameParams) Set(s string) error {
	for _, one := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(one, "=")
		g, name, ok2 := strings.Cut(key, ".")
		if !ok || !ok2 || g == "" || name == "" {
			return fmt.Errorf("%q is not GAME.NAME=VALUE", one)
		}
		if p[g] == nil {
			p[g] = map[string]string{}
		}
		p[g][name] = value
	}
	return nil
}

// hostedGames resolves -game against the registry and checks -game-param.
func hostedGames(reg *game.Registry, list string, params gameParams) ([]*game.Def, error) {
	var defs []*game.Def
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		d := reg.Lookup(name)
		if d == nil {
			return nil, fmt.Errorf("-game: no game %q (known: %s)", name, strings.Join(reg.Names(), ", "))
		}
		defs = append(defs, d)
	}
	for g, kv := range params {
		d := reg.Lookup(g)
		if d == nil {
			return nil, fmt.Errorf("-game-param: no game %q", g)
		}
		if err := d.CheckParams(kv); err != nil {
			return nil, fmt.Errorf("-game-param: %w", err)
		}
	}
	return defs, nil
}

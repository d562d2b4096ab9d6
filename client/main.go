//go:build !js

// Command client is the desktop client: an Ebiten window in which a person
// plays (or watches) a match of one of the games it knows (games.go) on an
// arena server. Run with -h for the flags and the games.
//
// Controls: each game's own (the arena: WASD or arrows move, the mouse
// aims, the left button shoots, Tab shows the scores); F3 shows the net
// graph, Esc leaves the room.
//
// Exit status: 0 after the window closes (or -exit-after), 1 when the
// window cannot open or the screenshot cannot be written, 2 for bad flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/client/render"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// options are the client's flags.
type options struct {
	core            core.Config
	render          render.Options
	renderers       render.Renderers
	frameStats      bool
	vsync           bool
	screenshotAfter time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	reg, renderers := games()
	o.core.Games, o.renderers = reg, renderers
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: client [flags]\n\nThe desktop client: plays or watches a match of one of its games. Each game has\nits own controls (the arena: WASD/arrows move, the mouse aims, the left button\nshoots, Tab shows the scores); F3 shows the net graph, Esc leaves the room.\n\n")
		printGames(stderr, reg)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.core.Game, "game", reg.Defs()[0].Name, "the game quick join and create play (see the list above); rooms of the other games listed can be joined too")
	fs.StringVar(&o.core.URL, "server", "ws://127.0.0.1:8080/ws", "server WebSocket URL")
	fs.StringVar(&o.core.Name, "name", "player", "player name (1..24 bytes)")
	fs.StringVar(&o.core.Transport, "transport", "auto", "auto (WebSocket, else long-polling), ws or poll")
	fs.DurationVar(&o.core.Link.Latency, "lag", 0, "link conditioner: round-trip time added on this client's side (half each way)")
	fs.DurationVar(&o.core.Link.Jitter, "jitter", 0, "link conditioner: each chunk's one-way delay varies by up to ± this much")
	fs.IntVar(&o.core.Link.Bandwidth, "bandwidth", 0, "link conditioner: cap each direction at this many bytes/s (0: none)")
	fs.DurationVar(&o.core.InterpDelay, "interp-delay", 0, "draw others this far in the past (0: adapt to the measured jitter)")
	fs.StringVar(&o.render.AutoJoin, "autojoin", "", "skip the start screen: quick, create, spectate, or a room id")
	fs.StringVar(&o.render.Screenshot, "screenshot", "", "write a PNG of the window to this path once the match has shown for -screenshot-after")
	fs.DurationVar(&o.screenshotAfter, "screenshot-after", 3*time.Second, "how long the match shows before the screenshot")
	fs.DurationVar(&o.render.ExitAfter, "exit-after", 0, "quit after this long (0: when the window closes; with -screenshot, after it)")
	fs.BoolVar(&o.render.NetGraph, "netgraph", false, "show the net graph from the start (F3 toggles it)")
	fs.BoolVar(&o.frameStats, "frame-stats", false, "print frame time percentiles on exit")
	fs.Float64Var(&o.render.Zoom, "zoom", 1, "scale of the match view: 1 is the game's size (the arena: 1280×720 pixels); smaller is cheaper to draw (0.25..2)")
	fs.BoolVar(&o.vsync, "vsync", true, "wait for the display's refresh (off: draw as fast as possible)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if reg.Lookup(o.core.Game) == nil {
		return o, fmt.Errorf("-game: no game %q (known: %s)", o.core.Game, strings.Join(reg.Names(), ", "))
	}
	if len(o.core.Name) > 24 {
		return o, errors.New("-name must be at most 24 bytes")
	}
	if t := o.core.Transport; t != "auto" && t != "ws" && t != "poll" {
		return o, errors.New("-transport must be auto, ws or poll")
	}
	if err := o.core.Link.Validate(); err != nil {
		return o, errors.New("-lag, -jitter and -bandwidth must not be negative")
	}
	if o.render.Zoom < 0.25 || o.render.Zoom > 2 {
		return o, errors.New("-zoom must be within 0.25..2")
	}
	if o.render.ExitAfter < 0 || o.screenshotAfter < 0 || o.core.InterpDelay < 0 {
		return o, errors.New("durations must not be negative")
	}
	o.render.ScreenshotAfter = o.screenshotAfter
	o.core.Link.Seed = uint64(time.Now().UnixNano())
	return o, nil
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	o.core.Logger = log
	if o.frameStats {
		o.render.FrameStats = stderr
	}
	s := core.New(o.core)
	defer s.Close()
	g := render.New(s, o.renderers, o.render)
	ebiten.SetWindowTitle("arena server: " + o.core.Game)
	ebiten.SetWindowSize(g.Size())
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	ebiten.SetRunnableOnUnfocused(true)
	ebiten.SetVsyncEnabled(o.vsync)
	err = ebiten.RunGame(g)
	g.Close()
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 1
	}
	return 0
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
)

// scenario is what a benchmark runs besides the player count: the rooms
// and the server's game settings.
type scenario struct {
	roomSize int
	// serverArgs are extra server flags (game settings).
	serverArgs func(o *options) []string
	// watch seats a desktop client core (client/core, the real one) in the
	// last room for the measured window: it walks and reports its own
	// prediction corrections and the frames its interpolation ran dry.
	watch bool
	about string
}

var scenarios = map[string]scenario{
	"arena-16": {roomSize: 16, about: "rooms of 16"},
	"rooms-64": {roomSize: 64, watch: true,
		serverArgs: func(o *options) []string {
			return []string{"-game-param", "arena.view-radius=" + strconv.Itoa(o.viewRadius)}
		},
		about: "rooms of 64 fighting, each player seeing what is within -view-radius (arena.view-radius), one seat a desktop client core's"},
	"scale": {roomSize: 16, about: "rooms of 16, the load spread over -load-split bot processes (for many cores: -server-cpu, -server-procs, -load-cpu, -load-procs)"},
}

// watchResult is what the watching client core saw in the window.
type watchResult struct {
	Joined           bool    `json:"joined"`
	PredictionChecks uint64  `json:"prediction_checks"`
	Corrections      uint64  `json:"corrections"`
	InterpFrames     uint64  `json:"interp_frames"`
	DryFrames        uint64  `json:"dry_frames"`
	DownBps          float64 `json:"down_bytes_per_s"`
	InterpDelayMs    float64 `json:"interp_delay_ms"`
}

// watch joins the server at url as a desktop client core would (quick
// join: the one free seat), walks for d at 60 frames a second and reports
// what the core counted over that time.
func watch(ctx context.Context, url string, d time.Duration) (watchResult, error) {
	reg, err := game.NewRegistry(arena.Def)
	if err != nil {
		return watchResult{}, err
	}
	s := core.New(core.Config{URL: url, Name: "watcher", Games: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer s.Close()
	if !s.QuickJoin(false) {
		return watchResult{}, fmt.Errorf("watcher: quick join refused")
	}
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	var m game.Move
	frame := 0
	step := func(now time.Time) {
		m.Reset()
		dirs := []sim.Buttons{sim.ButtonRight, sim.ButtonDown, sim.ButtonLeft | sim.ButtonUp, 0,
			sim.ButtonUp, sim.ButtonLeft, sim.ButtonDown | sim.ButtonRight, sim.ButtonLeft | sim.ButtonDown}
		m.Input = arena.AppendInput(m.Input, dirs[(frame/27)%len(dirs)], uint16(frame*7)%sim.AimSteps)
		s.Update(now, &m)
		frame++
	}
	deadline := time.Now().Add(15 * time.Second)
	for !s.View().Ready {
		select {
		case <-ctx.Done():
			return watchResult{}, ctx.Err()
		case now := <-tk.C:
			if now.After(deadline) {
				return watchResult{}, fmt.Errorf("watcher: no snapshot within 15 s (%s)", s.View().Status)
			}
			step(now)
		}
	}
	// A second to settle (the adaptive interpolation delay), then count.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		step(<-tk.C)
	}
	n0 := *s.View().Net
	for end := time.Now().Add(d); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return watchResult{}, ctx.Err()
		case now := <-tk.C:
			step(now)
		}
	}
	n1 := s.View().Net
	return watchResult{Joined: true,
		PredictionChecks: n1.PredictionChecks - n0.PredictionChecks, Corrections: n1.Corrections - n0.Corrections,
		InterpFrames: n1.InterpFrames - n0.InterpFrames, DryFrames: n1.DryFrames - n0.DryFrames,
		DownBps: n1.DownBps, InterpDelayMs: float64(n1.InterpDelay) / float64(time.Millisecond)}, nil
}

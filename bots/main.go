// Command bots runs a swarm of headless players against a server: each
// quick-joins a room of the game -game names (or fills rooms of
// -room-size) and plays with that game's brain, and the swarm reports what
// they saw. The games it can play are in its registry (games.go; -h lists
// them). Run with -h for the flags.
//
// Exit status: 0 when every bot connected and saw no error, 1 otherwise,
// 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/arenaserver/arena/bots/swarm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	reg := games()
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bots [flags]\n\nRuns headless bots against a game server and reports what they saw.\n\n")
		printGames(stderr, reg)
		fs.PrintDefaults()
	}
	var cfg swarm.Config
	var jsonPath, gameName string
	var seed uint64
	fs.StringVar(&gameName, "game", reg.Names()[0], "the game the bots play (see the list above)")
	fs.StringVar(&cfg.URL, "server", "ws://127.0.0.1:8080/ws", "server WebSocket URL")
	fs.IntVar(&cfg.Bots, "n", 16, "number of bots")
	fs.IntVar(&cfg.RoomSize, "room-size", 0, "put the bots in rooms of this many (0: quick join)")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to play once all are connected (0: until interrupted)")
	fs.Uint64Var(&seed, "seed", 1, "random seed; the same seed replays the same choices")
	fs.IntVar(&cfg.ConnectRate, "connect-rate", 200, "new connections per second")
	fs.StringVar(&cfg.Transport, "transport", "auto", "auto (WebSocket, else long-polling), ws or poll; polling routes derive from -server")
	fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "no live progress line on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the bots to this file (to check they are not the bottleneck)")
	fs.BoolVar(&cfg.Cheap, "cheap", false, "load generator: acknowledge snapshots without decoding them; the brain sees no state; no prediction checks")
	fs.IntVar(&cfg.InputBatch, "input-batch", 1, "inputs per input frame: 2 sends every other tick, with the held input (half the frames, a tick of latency for the held one); 1..4")
	fs.DurationVar(&cfg.Link.Latency, "lag", 0, "link conditioner: round-trip time added on each bot's connection (half each way)")
	fs.DurationVar(&cfg.Link.Jitter, "jitter", 0, "link conditioner: each chunk's one-way delay varies by up to ± this much")
	fs.IntVar(&cfg.Link.Bandwidth, "bandwidth", 0, "link conditioner: cap each direction of each bot's connection at this many bytes/s (0: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bots: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if cfg.Bots < 1 || cfg.Bots > 100_000 || cfg.RoomSize < 0 || cfg.Duration < 0 {
		fmt.Fprintln(stderr, "bots: -n must be 1..100000, -room-size and -duration not negative")
		return 2
	}
	if cfg.InputBatch < 1 || cfg.InputBatch > swarm.MaxInputBatch {
		fmt.Fprintf(stderr, "bots: -input-batch must be 1..%d\n", swarm.MaxInputBatch)
		return 2
	}
	if cfg.Game = reg.Lookup(gameName); cfg.Game == nil {
		fmt.Fprintf(stderr, "bots: -game: no game %q (known: %s)\n", gameName, strings.Join(reg.Names(), ", "))
		return 2
	}
	if cfg.Game.Brain == nil {
		fmt.Fprintf(stderr, "bots: -game: %s has no brain; bots cannot play it\n", gameName)
		return 2
	}
	if cfg.Transport != "auto" && cfg.Transport != "ws" && cfg.Transport != "poll" {
		fmt.Fprintln(stderr, "bots: -transport must be auto, ws or poll")
		return 2
	}
	if err := cfg.Link.Validate(); err != nil {
		fmt.Fprintln(stderr, "bots: -lag, -jitter and -bandwidth must not be negative")
		return 2
	}
	cfg.Seed = seed
	cfg.Link.Seed = seed
	cfg.OnMeasure = func(n int) { fmt.Fprintf(stderr, "bots: measuring, %d connected\n", n) }
	if !*quiet {
		cfg.Progress = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "bots:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bots:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := swarm.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "bots:", err)
		return 1
	}
	printSummary(stdout, rep)
	if jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "bots:", err)
			return 1
		}
	}
	for _, e := range rep.ErrorList {
		fmt.Fprintln(stderr, "bots: error:", e)
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

func printSummary(w io.Writer, r *swarm.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "game\t%s\n", r.Game)
	fmt.Fprintf(tw, "bots\t%d\n", r.Bots)
	fmt.Fprintf(tw, "connected\t%d (ws %d, poll %d)\n", r.Connected, r.Transport.WS, r.Transport.Poll)
	fmt.Fprintf(tw, "errors\t%d\n", r.Errors)
	if r.Redirected > 0 {
		fmt.Fprintf(tw, "redirected\t%d to another server of the fleet\n", r.Redirected)
		fmt.Fprintf(tw, "join ms, direct\tp50 %.2f  p99 %.2f  max %.2f\n", r.JoinDirectMs.P50, r.JoinDirectMs.P99, r.JoinDirectMs.Max)
		fmt.Fprintf(tw, "join ms, redirected\tp50 %.2f  p99 %.2f  max %.2f\n", r.JoinRedirectMs.P50, r.JoinRedirectMs.P99, r.JoinRedirectMs.Max)
	}
	if r.Resumes > 0 {
		fmt.Fprintf(tw, "resumed sessions\t%d\n", r.Resumes)
	}
	fmt.Fprintf(tw, "measured\t%.1f s\n", r.DurationS)
	fmt.Fprintf(tw, "snapshots/s per bot\t%.1f\n", r.SnapshotsPerBotS)
	if len(r.SnapshotDelivery) > 0 {
		fmt.Fprintf(tw, "snapshot delivery\tworst bot %.1f%% of those sent\n", 100*slices.Min(r.SnapshotDelivery))
	}
	fmt.Fprintf(tw, "bytes/s down per bot\t%.0f\n", r.BytesDownPerBotS)
	fmt.Fprintf(tw, "bytes/s up per bot\t%.0f\n", r.BytesUpPerBotS)
	fmt.Fprintf(tw, "input→ack ms\tp50 %.2f  p99 %.2f  max %.2f\n", r.InputAckMs.P50, r.InputAckMs.P99, r.InputAckMs.Max)
	if r.PredictionChecks > 0 {
		perMin := 0.0
		if botMinutes := float64(r.Connected) * r.DurationS / 60; botMinutes > 0 {
			perMin = float64(r.PredictionMisses) / botMinutes
		}
		fmt.Fprintf(tw, "prediction\t%d checked, %d corrected (%.2f%%, %.2f per bot-minute)\n", r.PredictionChecks, r.PredictionMisses,
			100*float64(r.PredictionMisses)/float64(r.PredictionChecks), perMin)
		fmt.Fprintf(tw, "prediction, not compared\t%d after an interaction\n", r.PredictionInteractions)
	}
	tw.Flush()
}

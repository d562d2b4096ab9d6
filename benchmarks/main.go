// Command benchmarks runs the reproducible benchmark scenarios: it builds the
// server, the bots and the bare-transport floor, runs each as its own
// process (pinned to different cores with taskset where available, with
// GOMAXPROCS set), sweeps the number of players, and writes a Markdown table
// and PNG plots to -out.
//
//	go run ./benchmarks -scenario arena-16 -sweep 160,480,960,1920
//
// For every point it runs the game server (delta snapshots), the same server
// in naive mode (full snapshots every time) and the floor (a minimal gws
// program writing frames of the game's measured sizes at the same rates), so
// each row carries its own ratios. It stops at the first point where the game
// server delivers under 95% of the expected snapshots or its tick p99 passes
// the tick period, and reports the last point before that as the capacity.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.scenario, "scenario", "arena-16", "scenario: arena-16 (rooms of 16, 60 Hz ticks, 30 Hz snapshots, 60 inputs/s per player), rooms-64 (rooms of 64 with -view-radius, a client core watching), scale (arena-16 with the load over -load-split processes)")
	flag.IntVar(&o.viewRadius, "view-radius", 300, "rooms-64: what a player sees, in world units (the server's -game-param arena.view-radius)")
	flag.IntVar(&o.loadSplit, "load-split", 1, "bot processes the load is spread over (whole rooms each), all on -load-cpu")
	sweep := flag.String("sweep", "160,480,960,1920", "comma-separated player counts")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measurement window per point, after every bot connected")
	flag.StringVar(&o.out, "out", "benchmarks/results", "directory for the table, JSON and plots")
	modes := flag.String("modes", "game,batched,floor", "what to run per point: game (delta), batched (game, bots batching -input-batch inputs a frame), before (-baseline-rev's build), colyseus (the Colyseus 0.18 peer in benchmarks/colyseus, after npm ci there), naive (full snapshots), floor (bare transport)")
	flag.StringVar(&o.baselineRev, "baseline-rev", "", "git revision whose server and bots the \"before\" mode runs, built in a temporary worktree (a before/after comparison in one run)")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "CPU list for the server process (taskset -c)")
	flag.StringVar(&o.loadCPU, "load-cpu", "1", "CPU list for the load generator (taskset -c)")
	flag.IntVar(&o.serverProcs, "server-procs", 1, "GOMAXPROCS of the server")
	flag.IntVar(&o.loadProcs, "load-procs", 1, "GOMAXPROCS of the load generator")
	flag.IntVar(&o.connectRate, "connect-rate", 400, "bot connections per second")
	flag.BoolVar(&o.noStop, "no-stop", false, "run every point even past capacity")
	flag.IntVar(&o.inputBatch, "input-batch", 2, "inputs per input frame of the bots in mode batched (bots -input-batch); every other mode sends one a tick")
	flag.BoolVar(&o.baselineOld, "baseline-old", false, "the -baseline-rev server predates the load-generator flags (-admin-token, per-address budgets): run it with -max-conns-per-ip -1 only")
	flag.Parse()
	sc, ok := scenarios[o.scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchmarks: unknown scenario %q (known: arena-16, rooms-64, scale)\n", o.scenario)
		return 2
	}
	o.sc = sc
	if o.viewRadius < 1 || o.viewRadius > 10000 || o.loadSplit < 1 || o.loadSplit > 64 {
		fmt.Fprintln(os.Stderr, "benchmarks: -view-radius must be 1..10000 and -load-split 1..64")
		return 2
	}
	for _, f := range strings.Split(*sweep, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchmarks: bad -sweep entry %q\n", f)
			return 2
		}
		o.sweep = append(o.sweep, n)
	}
	if o.inputBatch < 1 || o.inputBatch > 4 {
		fmt.Fprintln(os.Stderr, "benchmarks: -input-batch must be 1..4")
		return 2
	}
	for _, m := range strings.Split(*modes, ",") {
		o.modes = append(o.modes, strings.TrimSpace(m))
	}
	o.command = "go run ./benchmarks " + strings.Join(os.Args[1:], " ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	bin, err := os.MkdirTemp("", "arena-bench")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	defer os.RemoveAll(bin)
	o.bins, err = buildAll(ctx, bin)
	if err == nil && o.has("before") {
		if o.baselineRev == "" {
			err = fmt.Errorf("mode before needs -baseline-rev")
		} else {
			err = buildBaseline(ctx, o.baselineRev, bin, &o.bins)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	res, err := sweepAll(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
	}
	if res == nil || len(res.Points) == 0 {
		return 1
	}
	if err := writeResults(&o, res); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		return 1
	}
	fmt.Printf("capacity: %d players (tick p99 %.2f ms); results in %s\n", res.Capacity, res.CapacityTickP99Ms, filepath.Clean(o.out))
	return 0
}

type options struct {
	scenario               string
	sweep                  []int
	duration               time.Duration
	out                    string
	modes                  []string
	serverCPU, loadCPU     string
	serverProcs, loadProcs int
	connectRate            int
	noStop                 bool
	inputBatch             int
	viewRadius, loadSplit  int
	sc                     scenario
	baselineOld            bool
	baselineRev            string
	command                string
	bins                   binaries
}

func (o *options) has(mode string) bool { return slices.Contains(o.modes, mode) }

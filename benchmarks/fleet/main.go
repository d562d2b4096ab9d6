// Command fleet measures a fleet of servers sharing a room directory in
// Redis: it starts redis-server (Debian's package) and -nodes servers on
// free loopback ports, lets -bots bots quick-join through the first server,
// and reports the join latency of the bots seated directly versus those a
// redirect sent to another server, and the directory's traffic per server
// per second (Redis' own counters: commands, bytes in and out), during the
// joins and while the bots play, and the servers' CPU while they play.
// -checkpoint sets the servers' crash checkpoints (issue 16): run it with
// 0 and with 1s to see what checkpoints cost.
//
//	go run ./benchmarks/fleet -nodes 3 -bots 300 -duration 20s
//	go run ./benchmarks/fleet -nodes 3 -bots 300 -duration 20s -checkpoint 0
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
)

func main() {
	nodes := flag.Int("nodes", 3, "servers in the fleet")
	bots := flag.Int("bots", 300, "bots, all quick-joining through the first server")
	duration := flag.Duration("duration", 20*time.Second, "how long the bots play once all joined")
	rate := flag.Int("connect-rate", 100, "bot connections per second")
	roomSize := flag.Int("room-size", 16, "seats per room")
	checkpoint := flag.Duration("checkpoint", time.Second, "the servers' -checkpoint (0: no crash checkpoints)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *nodes, *bots, *rate, *roomSize, *duration, *checkpoint); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, nodes, bots, rate, roomSize int, duration, checkpoint time.Duration) error {
	dir, err := os.MkdirTemp("", "arena-fleet-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	redisURL, stopRedis, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer stopRedis()
	bin, err := serverproc.Build(ctx, dir, "")
	if err != nil {
		return err
	}
	var procs []*serverproc.Proc
	defer func() {
		for _, p := range procs {
			_ = p.Kill()
		}
	}()
	for range nodes {
		p, err := serverproc.Start(bin, append([]string{"-addr", "127.0.0.1:0", "-redis", redisURL, "-room-size", strconv.Itoa(roomSize),
			"-checkpoint", checkpoint.String()}, serverproc.LoadGenFlags...)...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	opt, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()

	time.Sleep(2 * time.Second) // a couple of heartbeats: the idle baseline starts settled
	idle0, err := redisStats(ctx, rdb)
	if err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	idle1, _ := redisStats(ctx, rdb)

	var joined0, play0, play1 stats
	var cpu0, cpu1 float64
	joined0 = idle1
	measured := make(chan struct{})
	rep, err := swarm.Run(ctx, swarm.Config{
		Game: arena.Def, URL: "ws://" + procs[0].Addr + "/ws", Bots: bots, Duration: duration, Seed: 1, ConnectRate: rate, Transport: "ws",
		OnMeasure: func(int) {
			play0, _ = redisStats(ctx, rdb)
			cpu0 = cpuSeconds(procs)
			go func() {
				time.Sleep(duration - 500*time.Millisecond)
				play1, _ = redisStats(ctx, rdb)
				cpu1 = cpuSeconds(procs)
				close(measured)
			}()
		},
	})
	if err != nil {
		return err
	}
	<-measured
	fmt.Printf("fleet: %d servers, %d bots quick-joining through the first at %d/s, rooms of %d, %v of play, checkpoints every %v\n",
		nodes, bots, rate, roomSize, duration, checkpoint)
	fmt.Printf("bots: %d connected, %d errors, %d redirected; %.1f snapshots/s per bot\n",
		rep.Connected, rep.Errors, rep.Redirected, rep.SnapshotsPerBotS)
	fmt.Printf("join ms, direct (%d):     p50 %.2f  p99 %.2f  max %.2f\n", rep.Connected-rep.Redirected,
		rep.JoinDirectMs.P50, rep.JoinDirectMs.P99, rep.JoinDirectMs.Max)
	fmt.Printf("join ms, redirected (%d): p50 %.2f  p99 %.2f  max %.2f\n", rep.Redirected,
		rep.JoinRedirectMs.P50, rep.JoinRedirectMs.P99, rep.JoinRedirectMs.Max)
	fmt.Println("directory traffic per server per second (Redis' counters / servers / seconds;")
	fmt.Println("commands include those the scripts run inside Redis):")
	for _, w := range []struct {
		name string
		a, b stats
	}{
		{"idle (no room)", idle0, idle1},
		{"joins (first to last seated)", joined0, play0},
		{"play (rooms full, no joins)", play0, play1},
	} {
		d := w.b.sub(w.a)
		secs := d.at.Seconds()
		n := float64(nodes)
		fmt.Printf("  %-30s %5.1f s  %6.1f scripts/s  %7.1f commands/s  %7.0f B/s to Redis  %7.0f B/s from Redis\n",
			w.name, secs, float64(d.scripts)/secs/n, float64(d.commands)/secs/n, float64(d.in)/secs/n, float64(d.out)/secs/n)
	}
	if d := play1.sub(play0).at.Seconds(); d > 0 {
		fmt.Printf("server CPU while the bots play: %.1f %% of a core per server\n", 100*(cpu1-cpu0)/d/float64(nodes))
	}
	for i, p := range procs {
		_ = p.Signal(syscall.SIGTERM)
		if err := p.Wait(30 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "server %d: %v\n", i, err)
		}
	}
	procs = nil
	if rep.Failed() {
		return fmt.Errorf("bots failed: %v", rep.ErrorList)
	}
	return nil
}

// cpuSeconds is the user and system CPU time the servers used so far
// (/proc/PID/stat, in USER_HZ ticks of 1/100 s).
func cpuSeconds(procs []*serverproc.Proc) float64 {
	var total float64
	for _, p := range procs {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (u + st) / 100
	}
	return total
}

// stats are Redis' cumulative counters at one moment.
type stats struct {
	at                time.Duration // since the process started, by our clock
	commands, in, out int64
	scripts           int64 // EVAL and EVALSHA calls: the servers' round trips for the directory
}

var start = time.Now()

func (s stats) sub(o stats) stats {
	return stats{at: s.at - o.at, commands: s.commands - o.commands, in: s.in - o.in, out: s.out - o.out, scripts: s.scripts - o.scripts}
}

// redisStats reads INFO stats. The INFO command itself adds one command
// and a few hundred bytes to each window: noise at these rates.
func redisStats(ctx context.Context, rdb *redis.Client) (stats, error) {
	info, err := rdb.Info(ctx, "stats", "commandstats").Result()
	if err != nil {
		return stats{}, err
	}
	s := stats{at: time.Since(start)}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "total_commands_processed":
			s.commands = n
		case "total_net_input_bytes":
			s.in = n
		case "total_net_output_bytes":
			s.out = n
		case "cmdstat_eval", "cmdstat_evalsha":
			calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
			c, _ := strconv.ParseInt(calls, 10, 64)
			s.scripts += c
		}
	}
	return s, nil
}

// startRedis runs redis-server on a free loopback port, without
// persistence, in dir.
func startRedis(dir string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (apt-get install redis-server): %w", err)
	}
	stop := func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
	url := fmt.Sprintf("redis://127.0.0.1:%d", port)
	for range 100 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return url, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("redis-server did not listen on %d", port)
}

// Command sessions measures the figures of issues 3 and 5 against the
// server binary on loopback:
//
//	go run ./benchmarks/sessions -mode transports   # WebSocket vs long-polling, 100 bots each
//	go run ./benchmarks/sessions -mode resume       # 100 bots whose connections are all cut at once
//
// transports runs the same swarm twice against one server process, first
// all on WebSocket, then all on polling (rooms of 16, 60 Hz ticks, 30 Hz
// snapshots), and reads the server's CPU time from /proc/PID/stat around
// each window. resume connects bots through a TCP proxy in this process,
// lets them play, cuts every proxied connection at the same instant (a
// network failure: neither end closes first) and times how long each bot
// takes to resume its session and receive a snapshot again; it also
// compares the bytes received on resume with a full snapshot of the same
// room.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
)

func main() {
	mode := flag.String("mode", "transports", "transports or resume")
	bots := flag.Int("n", 100, "bots")
	dur := flag.Duration("duration", 15*time.Second, "measurement window per transport (transports mode)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "arena-sessions")
	check(err)
	defer os.RemoveAll(dir)
	bin, err := serverproc.Build(ctx, dir, "")
	check(err)
	srv, err := serverproc.Start(bin, append([]string{"-addr", "127.0.0.1:0"}, serverproc.LoadGenFlags...)...) // every bot is on loopback
	check(err)
	defer srv.Kill()
	switch *mode {
	case "transports":
		transports(ctx, srv, *bots, *dur)
	case "resume":
		resume(ctx, srv, *bots)
	default:
		fmt.Fprintln(os.Stderr, "sessions: -mode must be transports or resume")
		os.Exit(2)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessions:", err)
		os.Exit(1)
	}
}

// cpuSeconds reads user+system CPU time of pid from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

func transports(ctx context.Context, srv *serverproc.Proc, n int, dur time.Duration) {
	type row struct {
		rep *swarm.Report
		cpu float64 // server CPU seconds per player per second
	}
	rows := map[string]row{}
	for _, tr := range []string{"ws", "poll"} {
		var cpu0 float64
		var t0 time.Time
		cfg := swarm.Config{Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: n, RoomSize: 16, Duration: dur, Seed: 1,
			Transport: tr, OnMeasure: func(int) { cpu0, t0 = cpuSeconds(srv.Pid()), time.Now() }}
		rep, err := swarm.Run(ctx, cfg)
		check(err)
		cpu := (cpuSeconds(srv.Pid()) - cpu0) / time.Since(t0).Seconds() / float64(rep.Connected)
		rows[tr] = row{rep, cpu}
		fmt.Fprintf(os.Stderr, "%s: %d connected, %d errors, %+v\n", tr, rep.Connected, rep.Errors, rep.ErrorList)
		time.Sleep(2 * time.Second) // let the rooms empty
	}
	ws, poll := rows["ws"], rows["poll"]
	fmt.Printf("| figure | WebSocket | polling | polling vs WebSocket |\n| --- | --- | --- | --- |\n")
	fmt.Printf("| bots connected (transport) | %d (ws %d) | %d (poll %d) | |\n", ws.rep.Connected, ws.rep.Transport.WS, poll.rep.Connected, poll.rep.Transport.Poll)
	fmt.Printf("| snapshots/s per bot | %.2f | %.2f | %.1f %% |\n", ws.rep.SnapshotsPerBotS, poll.rep.SnapshotsPerBotS, 100*poll.rep.SnapshotsPerBotS/ws.rep.SnapshotsPerBotS)
	fmt.Printf("| input→ack p50 / p99 ms | %.1f / %.1f | %.1f / %.1f | p99 %+.1f ms (one snapshot period: 33.3 ms) |\n",
		ws.rep.InputAckMs.P50, ws.rep.InputAckMs.P99, poll.rep.InputAckMs.P50, poll.rep.InputAckMs.P99, poll.rep.InputAckMs.P99-ws.rep.InputAckMs.P99)
	fmt.Printf("| bytes/s down / up per bot | %.0f / %.0f | %.0f / %.0f | |\n", ws.rep.BytesDownPerBotS, ws.rep.BytesUpPerBotS, poll.rep.BytesDownPerBotS, poll.rep.BytesUpPerBotS)
	fmt.Printf("| server CPU per player | %.2f ms/s | %.2f ms/s | %.2f× |\n", ws.cpu*1000, poll.cpu*1000, poll.cpu/ws.cpu)
	fmt.Printf("| errors / sessions resumed during the run | %d / %d | %d / %d | |\n", ws.rep.Errors, ws.rep.Resumes, poll.rep.Errors, poll.rep.Resumes)
}

// proxy forwards loopback connections and can cut them all at once.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	p := &proxy{ln: ln, target: target}
	go p.accept()
	return p
}

func (p *proxy) accept() {
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = a.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, a, b)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(a, b); _ = a.Close(); _ = b.Close() }()
		go func() { _, _ = io.Copy(b, a); _ = a.Close(); _ = b.Close() }()
	}
}

func (p *proxy) cutAll() int {
	p.mu.Lock()
	cs := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range cs {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a dropped network path would give
		}
		_ = c.Close()
	}
	return len(cs) / 2
}

// resumeBot is one client of the resume run.
type resumeBot struct {
	conn    *client.Conn
	player  game.PlayerID
	mu      sync.Mutex
	resumed time.Time // when the Welcome of the resume arrived
	bytesAt uint64    // BytesIn at that moment (the Welcome included)
	back    time.Time // first snapshot after the resume
	backBy  int       // its frame size
	backAge uint32    // its baseline age (0: full)
	total   uint64    // bytes from the Welcome through that snapshot
	full    int       // a full snapshot frame of the same state
	want    atomic.Bool
}

func resume(ctx context.Context, srv *serverproc.Proc, n int) {
	px := newProxy(srv.Addr)
	url := "ws://" + px.ln.Addr().String() + "/ws"
	bots := make([]*resumeBot, n)
	var rooms sync.Map
	var wg sync.WaitGroup
	for i := range bots {
		b := &resumeBot{}
		bots[i] = b
		var c *client.Conn
		var err error
		c, err = client.Dial(ctx, client.Config{URL: url, Name: fmt.Sprintf("r%d", i), Transport: "ws", Seed: uint64(i + 1),
			OnResume: func(client.Resume) {
				b.mu.Lock()
				b.resumed = time.Now()
				b.bytesAt = c.Stats().BytesIn
				b.mu.Unlock()
				b.want.Store(true)
			},
			OnSnapshot: func(s *client.Snapshot) {
				if !b.want.CompareAndSwap(true, false) {
					return
				}
				var enc netcode.Encoder
				full := netcode.AppendSnapshotFrame(nil, s.Tick, 0, s.InputAck, enc.Append(nil, nil, nil, s.State, nil))
				b.mu.Lock()
				b.back, b.backBy, b.backAge = time.Now(), s.Bytes, s.BaselineAge
				b.total = c.Stats().BytesIn - b.bytesAt + uint64(s.Bytes)
				b.full = len(full)
				b.mu.Unlock()
			}})
		check(err)
		b.conn = c
		group := i / 16
		id, _ := rooms.Load(group)
		if id == nil {
			info, err := c.CreateRoom(ctx, 16)
			check(err)
			rooms.Store(group, info.GetId())
			id = info.GetId()
		}
		j, err := c.Join(ctx, id.(string), false)
		check(err)
		b.player = game.PlayerID(j.GetPlayerId())
		wg.Go(func() { play(ctx, c, uint64(i)) })
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // play
	cut := time.Now()
	nconns := px.cutAll()
	deadline := time.Now().Add(35 * time.Second)
	for time.Now().Before(deadline) {
		done := 0
		for _, b := range bots {
			b.mu.Lock()
			if !b.back.IsZero() {
				done++
			}
			b.mu.Unlock()
		}
		if done == n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var downs []time.Duration
	var sizes, totals, fulls []int
	deltas := 0
	for _, b := range bots {
		b.mu.Lock()
		if !b.back.IsZero() {
			downs = append(downs, b.back.Sub(cut))
			sizes = append(sizes, b.backBy)
			totals = append(totals, int(b.total))
			fulls = append(fulls, b.full)
			if b.backAge != 0 {
				deltas++
			}
		}
		b.mu.Unlock()
	}
	slices.Sort(downs)
	slices.Sort(sizes)
	slices.Sort(totals)
	slices.Sort(fulls)
	q := func(ds []time.Duration, f float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[min(len(ds)-1, int(f*float64(len(ds))))]
	}
	qi := func(xs []int, f float64) int {
		if len(xs) == 0 {
			return 0
		}
		return xs[min(len(xs)-1, int(f*float64(len(xs))))]
	}
	resumes := 0
	for _, b := range bots {
		resumes += int(b.conn.Stats().Resumes)
	}
	fmt.Printf("| figure | result |\n| --- | --- |\n")
	fmt.Printf("| bots / connections cut at once | %d / %d |\n", n, nconns)
	fmt.Printf("| resumed their own session and played again | %d (resumes counted by the clients: %d) |\n", len(downs), resumes)
	fmt.Printf("| time from the cut to the first snapshot again: median / p99 / last | %v / %v / %v |\n",
		q(downs, 0.5).Round(time.Millisecond), q(downs, 0.99).Round(time.Millisecond), q(downs, 1).Round(time.Millisecond))
	fmt.Printf("| first snapshot after the resume was a delta | %d of %d |\n", deltas, len(downs))
	fmt.Printf("| bytes of that snapshot frame: median (p99) | %d (%d) |\n", qi(sizes, 0.5), qi(sizes, 0.99))
	fmt.Printf("| bytes received from the Welcome through that snapshot: median (p99) | %d (%d) |\n", qi(totals, 0.5), qi(totals, 0.99))
	fmt.Printf("| a full snapshot frame of the same state: median (p99) | %d (%d) |\n", qi(fulls, 0.5), qi(fulls, 0.99))
	for _, b := range bots {
		_ = b.conn.Close()
	}
	wg.Wait()
}

// play sends an input per tick with a direction that changes now and then,
// until the connection ends.
func play(ctx context.Context, c *client.Conn, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 9))
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	dirs := []sim.Buttons{0, sim.ButtonUp, sim.ButtonDown, sim.ButtonLeft, sim.ButtonRight}
	b := sim.Buttons(0)
	var in []byte
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		case <-tk.C:
		}
		if i%30 == 0 {
			b = dirs[rnd.IntN(len(dirs))]
		}
		in = arena.AppendInput(in[:0], b, uint16(rnd.IntN(1024)))
		if _, err := c.SendInput(in, 0); err != nil {
			return
		}
	}
}

// Command floor measures the bare-transport floor: what a WebSocket server
// spends to read input frames and write snapshot-sized frames at the game's
// rates, with no game at all. It has two modes:
//
//	floor -mode server -addr 127.0.0.1:9090 -frame-bytes 90 -rate 30
//	floor -mode load -server ws://127.0.0.1:9090/ws -n 960 -input-bytes 17 -input-rate 60 -duration 20s
//
// The server writes one binary frame of -frame-bytes to every connection
// -rate times a second from a single loop and discards what it reads. The
// load generator opens -n connections, sends -input-bytes frames
// -input-rate times a second on each and counts what it receives. The
// benchmark runner starts both, pinned to different cores, beside the real
// server and bots, so each run reports how far the game server is above
// the floor.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

func main() {
	mode := flag.String("mode", "server", "server or load")
	addr := flag.String("addr", "127.0.0.1:9090", "server: listen address")
	frameBytes := flag.Int("frame-bytes", 90, "server: bytes per frame written")
	rate := flag.Int("rate", 30, "server: frames per second per connection")
	url := flag.String("server", "ws://127.0.0.1:9090/ws", "load: server URL")
	n := flag.Int("n", 100, "load: connections")
	inputBytes := flag.Int("input-bytes", 17, "load: bytes per input frame")
	inputRate := flag.Int("input-rate", 60, "load: input frames per second per connection")
	duration := flag.Duration("duration", 20*time.Second, "load: how long to measure once connected")
	jsonOut := flag.String("json", "", "load: write the result as JSON here")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch *mode {
	case "server":
		if err := serve(ctx, *addr, *frameBytes, *rate); err != nil {
			log.Fatal(err)
		}
	case "load":
		res, err := load(ctx, *url, *n, *inputBytes, *inputRate, *duration)
		if err != nil {
			log.Fatal(err)
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Println(string(b))
		if *jsonOut != "" {
			if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
				log.Fatal(err)
			}
		}
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

// sink discards every message; it is the whole per-connection game logic.
type sink struct {
	gws.BuiltinEventHandler
	reads atomic.Uint64
}

func (s *sink) OnMessage(_ *gws.Conn, m *gws.Message) {
	s.reads.Add(1)
	_ = m.Close()
}

func serve(ctx context.Context, addr string, frameBytes, rate int) error {
	h := &sink{}
	up := gws.NewUpgrader(h, &gws.ServerOption{ReadMaxPayloadSize: 4096})
	var mu sync.Mutex
	conns := map[*gws.Conn]struct{}{}
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/", http.DefaultServeMux) // profile the floor like the server
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		c.ReadLoop()
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Printf("msg=serving addr=%s", ln.Addr())

	frame := make([]byte, frameBytes)
	period := time.Second / time.Duration(rate)
	start := time.Now()
	timer := time.NewTimer(period)
	list := make([]*gws.Conn, 0, 1024)
	for n := 1; ; n++ {
		timer.Reset(time.Until(start.Add(time.Duration(n) * period)))
		select {
		case <-ctx.Done():
			return srv.Close()
		case <-timer.C:
		}
		list = list[:0]
		mu.Lock()
		for c := range conns {
			list = append(list, c)
		}
		mu.Unlock()
		for _, c := range list {
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			_ = c.WriteMessage(gws.OpcodeBinary, frame)
		}
	}
}

// counter counts what a load connection receives.
type counter struct {
	gws.BuiltinEventHandler
	frames, bytes atomic.Uint64
}

func (c *counter) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.frames.Add(1)
	c.bytes.Add(uint64(m.Data.Len()))
	_ = m.Close()
}

// Result is what the load generator measured.
type Result struct {
	Connections    int     `json:"connections"`
	DurationS      float64 `json:"duration_s"`
	FramesPerConnS float64 `json:"frames_per_conn_s"`
	BytesDownPerS  float64 `json:"bytes_down_per_conn_s"`
	InputsPerConnS float64 `json:"inputs_per_conn_s"`
	FailedConnects int     `json:"failed_connects"`
}

func load(ctx context.Context, url string, n, inputBytes, inputRate int, duration time.Duration) (*Result, error) {
	h := &counter{}
	var socks []*gws.Conn
	failed := 0
	for range n {
		c, _, err := gws.NewClient(h, &gws.ClientOption{Addr: url})
		if err != nil {
			failed++
			continue
		}
		go c.ReadLoop()
		socks = append(socks, c)
		time.Sleep(2 * time.Millisecond) // no SYN burst
	}
	if len(socks) == 0 {
		return nil, fmt.Errorf("floor: no connection to %s", url)
	}
	// Each connection sends on its own clock, as each bot does: the server
	// sees inputs spread over the tick like the game's, not in one burst.
	input := make([]byte, inputBytes)
	period := time.Second / time.Duration(inputRate)
	var sent atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range socks {
		wg.Go(func() {
			start := time.Now()
			timer := time.NewTimer(period)
			defer timer.Stop()
			for k := 1; ; k++ {
				timer.Reset(time.Until(start.Add(time.Duration(k) * period)))
				select {
				case <-stop:
					return
				case <-timer.C:
				}
				if c.WriteMessage(gws.OpcodeBinary, input) == nil {
					sent.Add(1)
				}
			}
		})
		time.Sleep(period / time.Duration(max(1, len(socks)/4+1)))
	}
	log.Printf("floor: measuring, %d connected", len(socks))
	f0, b0, s0, t0 := h.frames.Load(), h.bytes.Load(), sent.Load(), time.Now()
	select {
	case <-time.After(duration):
	case <-ctx.Done():
	}
	f1, b1, s1, secs := h.frames.Load(), h.bytes.Load(), sent.Load(), time.Since(t0).Seconds()
	close(stop)
	wg.Wait()
	for _, c := range socks {
		_ = c.WriteClose(1000, nil)
	}
	k := float64(len(socks))
	return &Result{
		Connections: len(socks), DurationS: secs, FailedConnects: failed,
		FramesPerConnS: float64(f1-f0) / secs / k, BytesDownPerS: float64(b1-b0) / secs / k,
		InputsPerConnS: float64(s1-s0) / secs / k,
	}, nil
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
)

// playStats is the page's window.arenaStats (client/main_js.go).
type playStats struct {
	Phase            string
	Status           string
	Room             string
	Ready            bool
	Player           int
	Transport        string
	SnapshotRate     float64
	Corrections      float64
	PredictionChecks float64
	StartedMs        float64 // the client's main began, ms after the page was opened
	FirstDrawnMs     float64 // the first snapshot was drawn, ms after the page was opened
	Frames           int
	FrameP50Ms       float64
	FrameP99Ms       float64
	UpdateP99Ms      float64
	DrawP99Ms        float64
}

// browser is a Chromium driven by browser/play.js, one command at a time.
type browser struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr strings.Builder
}

type browserReply struct {
	OK      bool
	Error   string
	Status  int
	Stats   *playStats
	Errors  []string
	Console []string
}

func startBrowser(t *testing.T, chromium, dir string) *browser {
	t.Helper()
	b := &browser{t: t}
	b.cmd = exec.Command("node", "play.js")
	b.cmd.Dir = dir
	b.cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	b.cmd.Stderr = &b.stderr
	var err error
	b.in, err = b.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := b.cmd.StdoutPipe()
	require.NoError(t, err)
	b.out = bufio.NewScanner(stdout)
	b.out.Buffer(make([]byte, 1<<20), 1<<20)
	require.NoError(t, b.cmd.Start())
	t.Cleanup(func() {
		_ = b.in.Close()
		done := make(chan struct{})
		go func() { _ = b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = b.cmd.Process.Kill()
			<-done
		}
	})
	return b
}

// do sends one command and returns the answer; a failed command fails the
// test with what the page logged.
func (b *browser) do(cmd map[string]any) browserReply {
	b.t.Helper()
	line, err := json.Marshal(cmd)
	require.NoError(b.t, err)
	_, err = b.in.Write(append(line, '\n'))
	require.NoError(b.t, err)
	require.True(b.t, b.out.Scan(), "play.js ended: %s", b.stderr.String())
	var r browserReply
	require.NoError(b.t, json.Unmarshal(b.out.Bytes(), &r), "%s", b.out.Text())
	require.True(b.t, r.OK, "%v: %s\nconsole: %s\nstats: %+v", cmd, r.Error, strings.Join(r.Console, "\n"), r.Stats)
	assert.Empty(b.t, r.Errors, "page errors")
	return r
}

func (b *browser) wait(expr string, timeout time.Duration) *playStats {
	b.t.Helper()
	r := b.do(map[string]any{"op": "wait", "expr": expr, "timeout": timeout.Milliseconds()})
	require.NotNil(b.t, r.Stats)
	return r.Stats
}

func (b *browser) stats() *playStats {
	b.t.Helper()
	r := b.do(map[string]any{"op": "stats"})
	require.NotNil(b.t, r.Stats)
	return r.Stats
}

// buildPlayDir builds the browser client as make build does, into a
// folder for -play-dir.
func buildPlayDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s", "-o", filepath.Join(dir, "client.wasm"), "github.com/arenaserver/arena/client")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the browser client: %s", out)
	exec, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wasm_exec.js"), exec, 0o644))
	return dir
}

// position is where the server's room has player id, and whether it is
// alive, from the dashboard's view of the room (the game's sketch of its
// newest state: a dead player is grey).
func position(t *testing.T, base, room string, id int) (x, y float64, alive bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/dashboard/api/view/"+room, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var first uint32
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var v struct {
			Tick   uint32
			Sketch struct {
				Shapes []struct {
					Kind   string
					X, Y   float64
					Player int
					Color  string
				}
			}
		}
		if json.Unmarshal([]byte(data), &v) != nil {
			continue
		}
		// The first view may be old: a room publishes views only while
		// someone watches. Take one built after the watch began.
		if first == 0 {
			first = v.Tick
		}
		if v.Tick < first+6 {
			continue
		}
		for _, s := range v.Sketch.Shapes {
			if s.Player == id && s.Kind != "text" && s.Kind != "line" {
				return s.X, s.Y, s.Color != "#555555"
			}
		}
	}
	t.Fatalf("the dashboard's view of room %s never showed player %d", room, id)
	return 0, 0, false
}

// moves holds a movement key, towards the side of the arena
// with more room (1280 units wide), and checks from the server's side that
// the page's player moved that way: the dashboard's view of the room,
// read once the player stands still again. The bots shoot: a player that is dead
// is waited for, and one that died meanwhile (grey, or respawned
// elsewhere) is tried again, three times at most.
func (b *browser) moves(base string, s *playStats, when string) {
	t := b.t
	t.Helper()
	for try := 1; ; try++ {
		x0, y0, alive := position(t, base, s.Room, s.Player)
		for deadline := time.Now().Add(10 * time.Second); !alive && time.Now().Before(deadline); {
			time.Sleep(250 * time.Millisecond)
			x0, y0, alive = position(t, base, s.Room, s.Player)
		}
		require.True(t, alive, "%s: player %d stays dead", when, s.Player)
		key, dir := "KeyD", 1.0
		if x0 > 640 {
			key, dir = "KeyA", -1.0
		}
		// Held until the server has it 50 units on, or 6 s: a page on a
		// loaded machine draws few frames, and sends one input per frame
		// once it is more than 8 ticks behind (no bursts), so it moves
		// slowly.
		b.do(map[string]any{"op": "keydown", "key": key})
		for held := time.Now().Add(6 * time.Second); time.Now().Before(held); time.Sleep(300 * time.Millisecond) {
			if x, _, _ := position(t, base, s.Room, s.Player); (x-x0)*dir > 50 {
				break
			}
		}
		b.do(map[string]any{"op": "keyup", "key": key})
		// Inputs still on their way (a slow page, polling) keep moving it:
		// read until it stands still.
		x1, y1, alive := position(t, base, s.Room, s.Player)
		for settle := time.Now().Add(3 * time.Second); time.Now().Before(settle); {
			time.Sleep(300 * time.Millisecond)
			x2, y2, alive2 := position(t, base, s.Room, s.Player)
			if x2 == x1 && y2 == y1 {
				break
			}
			x1, y1, alive = x2, y2, alive2
		}
		t.Logf("%s: the server saw player %d move from (%.0f, %.0f) to (%.0f, %.0f) while %s was held (alive after: %v)", when, s.Player, x0, y0, x1, y1, key, alive)
		if (x1-x0)*dir > 50 {
			return
		}
		// Alive and where it was (not respawned elsewhere): the inputs did
		// not count.
		if respawned := math.Abs(y1-y0) > 30; try == 3 || (alive && !respawned) {
			t.Errorf("%s: holding %s does not move player %d, as the server sees it", when, key, s.Player)
			return
		}
	}
}

// The arena's colours (games/arena/draw: Floor and WallColor).
var (
	floorColor = color.RGBA{0x1e, 0x22, 0x2b, 0xff}
	wallColor  = color.RGBA{0x5a, 0x64, 0x78, 0xff}
)

// checkArenaDrawn reads a screenshot and checks that it shows the arena:
// its floor and walls each cover part of it, and it is not one colour.
func checkArenaDrawn(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0xff}]++
		}
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	assert.Greater(t, counts[floorColor], total/3, "%s: the arena floor covers much of the page", path)
	assert.Greater(t, counts[wallColor], total/100, "%s: the arena's walls are drawn", path)
	assert.GreaterOrEqual(t, len(counts), 5, "%s: more than the floor and the walls: players, text", path)
}

// measureFor is how long the test measures frames and snapshots on each
// transport: 3 s, or ARENA_PLAY_MEASURE (a Go duration) for the figures of
// benchmarks/README.md.
func measureFor(t *testing.T) time.Duration {
	v := os.Getenv("ARENA_PLAY_MEASURE")
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "ARENA_PLAY_MEASURE")
	return d
}

// zoomParam passes ARENA_PLAY_ZOOM (the page's zoom=) on, for the figures.
func zoomParam() string {
	if z := os.Getenv("ARENA_PLAY_ZOOM"); z != "" {
		return "&zoom=" + z
	}
	return ""
}

// measure waits d, reading the page's figures twice a second, and returns
// the last and the mean snapshot rate the page saw over d.
func (b *browser) measure(d time.Duration) (*playStats, float64) {
	b.t.Helper()
	b.do(map[string]any{"op": "resetFrames"})
	var sum float64
	var n int
	var s *playStats
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		s = b.stats()
		sum += s.SnapshotRate
		n++
	}
	if s == nil {
		s = b.stats()
	}
	return s, sum / float64(max(n, 1))
}

// wasmGzipBudget is the most the compressed client may weigh (README "Play
// in the browser" says where it goes).
const wasmGzipBudget = 5_000_000

// fetchRaw GETs url without the transport's own decompression.
func fetchRaw(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true}, Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestPlayInBrowser plays the browser client (GET /play, the client built
// for js/wasm) in headless Chromium against the real server with bots: it
// joins the bots' match from a link, moves with key presses (checked from
// the server's side: the dashboard's view of the room), and draws the
// arena (checked on a screenshot); then through nginx without WebSocket
// upgrades, where it must end on polling and play; then the server is
// restarted mid-match and the page must come back into a match by itself.
// It logs the figures README "Play in the browser" reports. Screenshots
// are kept in artifacts/play.
func TestPlayInBrowser(t *testing.T) {
	chromium := need(t, "chromium", "install Debian's chromium (make setup, or apt-get install chromium)")
	need(t, "node", "install Node.js")
	need(t, "npm", "install npm")
	dir, err := filepath.Abs("browser")
	require.NoError(t, err)
	npmCI(t, dir)
	artifacts, err := filepath.Abs(filepath.Join("..", "..", "artifacts", "play"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	playDir := buildPlayDir(t)

	addr := freeAddr(t)
	proxy := freeAddr(t) // nginx's address: pages it serves are another origin than the server's
	args := []string{"-addr", addr, "-secret", "e2e-play-secret", "-play-dir", playDir, "-empty-grace", "2s",
		"-allowed-origins", "http://" + proxy}
	args = append(args, serverproc.LoadGenFlags...)
	srv := startServer(t, args...)
	base := "http://" + srv.Addr

	// The bots' match: 15 bots quick-join one room (the arena seats 16).
	const bots = 15
	ctx, stop := context.WithCancel(context.Background())
	swarmDone := make(chan struct{})
	go func() {
		defer close(swarmDone)
		_, _ = swarm.Run(ctx, swarm.Config{Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: bots, Seed: 14})
	}()
	defer func() { stop(); <-swarmDone }()
	require.Eventually(t, func() bool {
		_, body := get(t, base+"/dashboard/api/rooms", "Authorization", "Bearer "+adminToken)
		return strings.Contains(body, fmt.Sprintf(`"player_count":%d`, bots))
	}, 30*time.Second, 200*time.Millisecond, "the bots' match")

	// The module as served: gzip, within its budget (README "Play in the
	// browser": a plain Ebiten program is 3.4 MB; net/http's client, which
	// would add 1.3 MB, is not linked).
	raw, err := os.Stat(filepath.Join(playDir, "client.wasm"))
	require.NoError(t, err)
	resp, wasm := fetchRaw(t, base+"/play/client.wasm", "Accept-Encoding", "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	t.Logf("client.wasm: %d bytes, %d gzip-compressed as served", raw.Size(), len(wasm))
	assert.Less(t, len(wasm), wasmGzipBudget, "the compressed module stays within its budget")

	b := startBrowser(t, chromium, dir)

	// 1. Straight to the server: WebSocket.
	r := b.do(map[string]any{"op": "open", "url": base + "/play?join=quick&name=browser" + zoomParam()})
	require.Equal(t, http.StatusOK, r.Status)
	s := b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
	assert.Equal(t, "ws", s.Transport)
	b.moves(base, s, "over WebSocket")
	b.do(map[string]any{"op": "keys", "key": "KeyS", "ms": 600})
	shot := filepath.Join(artifacts, "ws.png")
	b.do(map[string]any{"op": "shot", "path": shot})
	checkArenaDrawn(t, shot)
	s, snaps := b.measure(measureFor(t))
	_, players := get(t, base+"/dashboard/api/rooms", "Authorization", "Bearer "+adminToken)
	assert.Contains(t, players, `"player_count":16`, "15 bots and the browser in one room")
	t.Logf("ws: the client started %.0f ms and drew its first snapshot %.0f ms after the page opened; frame interval p50 %.1f ms p99 %.1f ms over %d frames (Update p99 %.2f ms, Draw p99 %.2f ms); %.1f snapshots/s; %v of %v predictions corrected",
		s.StartedMs, s.FirstDrawnMs, s.FrameP50Ms, s.FrameP99Ms, s.Frames, s.UpdateP99Ms, s.DrawP99Ms, snaps, s.Corrections, s.PredictionChecks)

	// A reload resumes the tab's session: the same player in the same
	// room, still 16 players (no second seat).
	before := s
	b.do(map[string]any{"op": "reload"})
	s = b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
	assert.Equal(t, before.Room, s.Room, "the same room after a reload")
	assert.Equal(t, before.Player, s.Player, "the same player after a reload")
	_, players = get(t, base+"/dashboard/api/rooms", "Authorization", "Bearer "+adminToken)
	assert.Contains(t, players, `"player_count":16`, "the reload took no second seat")
	b.moves(base, s, "after a reload")
	s = b.stats()
	t.Logf("reload: first snapshot drawn %.0f ms after the page opened; %v of %v predictions corrected since", s.FirstDrawnMs, s.Corrections, s.PredictionChecks)

	// A background tab, at its harshest: the page is frozen for 3 s (no
	// frames, timers or events; the server holds on: its heartbeat
	// timeout is 5 s). When it runs again it catches up without a storm
	// of prediction corrections, keeps its player and plays.
	before = b.stats()
	b.do(map[string]any{"op": "freeze", "ms": 3000})
	time.Sleep(2 * time.Second)
	s = b.stats()
	assert.Equal(t, before.Player, s.Player, "the same player after the freeze")
	assert.Equal(t, before.Room, s.Room)
	assert.LessOrEqual(t, s.Corrections-before.Corrections, 2.0, "no storm of corrections when the tab comes back")
	b.moves(base, s, "after a frozen tab")
	s = b.stats()
	t.Logf("frozen 3 s: %v corrections before, %v after (of %v predictions); transport %s; %s", before.Corrections, s.Corrections, s.PredictionChecks, s.Transport, s.Status)

	// 2. Through nginx: first with upgrades passed (WebSocket), then the
	// proxy is replaced on the same address by one that does not pass
	// them: the page falls back to polling by itself, in the same session.
	ngx := startPlayNginx(t, proxy, srv.Addr, true)
	b.do(map[string]any{"op": "open", "url": "http://" + proxy + "/play?join=quick&name=proxied" + zoomParam()})
	s = b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
	assert.Equal(t, "ws", s.Transport, "upgrades pass this proxy")
	player, room := s.Player, s.Room
	ngx.stop()
	ngx = startPlayNginx(t, proxy, srv.Addr, false)
	s = b.wait(`s.transport === "poll" && s.status.startsWith("resumed over poll")`, 40*time.Second)
	t.Logf("fallback: %s", s.Status)
	assert.Equal(t, player, s.Player, "the same session on polling")
	assert.Equal(t, room, s.Room)
	b.moves(base, s, "over polling through nginx")
	s, snaps = b.measure(measureFor(t))
	assert.Equal(t, "poll", s.Transport, "no upgrade through this proxy: the client stays on polling")
	t.Logf("poll via nginx: %.1f snapshots/s; frame interval p50 %.1f ms p99 %.1f ms over %d frames (Update p99 %.2f ms, Draw p99 %.2f ms); %v of %v predictions corrected",
		snaps, s.FrameP50Ms, s.FrameP99Ms, s.Frames, s.UpdateP99Ms, s.DrawP99Ms, s.Corrections, s.PredictionChecks)
	shot = filepath.Join(artifacts, "poll-nginx.png")
	b.do(map[string]any{"op": "shot", "path": shot})
	checkArenaDrawn(t, shot)
	// A new page through this proxy starts on polling.
	b.do(map[string]any{"op": "open", "url": "http://" + proxy + "/play?join=quick&name=proxied2"})
	s = b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
	assert.Equal(t, "poll", s.Transport)
	t.Logf("poll via nginx from the start: first snapshot drawn %.0f ms after the page opened", s.FirstDrawnMs)
	// The proxy starts passing upgrades (a graceful reload: the polling
	// channel goes on): the session moves back to WebSocket by itself.
	player = s.Player
	ngx.reload(true)
	upgraded := time.Now()
	s = b.wait(`s.transport === "ws" && s.status === "moved to ws"`, 45*time.Second)
	assert.Equal(t, player, s.Player, "the same session, upgraded")
	t.Logf("upgrade: back on WebSocket %v after the proxy passed upgrades (%s)", time.Since(upgraded).Round(time.Millisecond), s.Status)
	b.moves(base, s, "after the upgrade")

	// The page from another origin (nginx's, as a CDN would serve it)
	// talking to the server's own address, allowed by -allowed-origins:
	// polling (fetch with CORS) and WebSocket both work.
	b.do(map[string]any{"op": "cdnServer", "server": "ws://" + srv.Addr + "/ws"})
	for _, tr := range []string{"poll", "ws"} {
		b.do(map[string]any{"op": "open", "url": "http://" + proxy + "/play?cdn&join=quick&name=cdn-" + tr + "&transport=" + tr})
		s = b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
		assert.Equal(t, tr, s.Transport)
		b.moves(base, s, "from another origin over "+tr)
	}

	// 3. The server restarts mid-match (same address, same -secret): the
	// page comes back into a match by itself.
	b.do(map[string]any{"op": "open", "url": base + "/play?join=quick&name=survivor"})
	s = b.wait(`s.ready && s.phase === "playing"`, 40*time.Second)
	room = s.Room
	require.NoError(t, srv.Kill())
	restarted := time.Now()
	srv = startServer(t, args...)
	s = b.wait(`s.ready && s.phase === "playing" && s.room !== `+fmt.Sprintf("%q", room), 60*time.Second)
	t.Logf("after the restart: playing again in room %s over %s, %v after the new server started", s.Room, s.Transport, time.Since(restarted).Round(time.Millisecond))
	shot = filepath.Join(artifacts, "restarted.png")
	b.do(map[string]any{"op": "shot", "path": shot})
	checkArenaDrawn(t, shot)
	b.moves(base, s, "on the restarted server")
	b.do(map[string]any{"op": "quit"})
}

// playNginx is a running nginx in front of the server.
type playNginx struct {
	stop   func()             // fast shutdown: every connection closes
	reload func(upgrade bool) // a graceful reload with or without upgrades: open connections go on
}

// startPlayNginx runs Debian's nginx on listen in front of backend the
// way README "Behind nginx" configures it, with or without WebSocket
// upgrades passed on, /play included. It is stopped at the end of the test.
func startPlayNginx(t *testing.T, listen, backend string, upgrade bool) playNginx {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		_, serr := os.Stat(bin)
		require.NoError(t, serr, "nginx is not installed (Debian package nginx): run `make setup`")
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	path := filepath.Join(dir, "nginx.conf")
	write := func(upgrade bool) {
		ws := `proxy_set_header Connection "";`
		if upgrade {
			ws = "proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";"
		}
		conf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream arena { server %[4]s; keepalive 64; }
  server {
    listen %[3]s;
    location = /ws {
      proxy_pass http://arena;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      %[5]s
      proxy_read_timeout 60s;
    }
    location = /poll {
      proxy_pass http://arena;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 60s;
      client_max_body_size 16k;
    }
    location /play {
      proxy_pass http://arena;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
    }
  }
}
`, user, dir, listen, backend, ws)
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	}
	write(upgrade)
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			elog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx on %s (upgrades %v) error log:\n%s", listen, upgrade, elog)
		}
	})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// TERM: a fast shutdown that closes every connection (a killed
			// master would leave its workers serving them).
			serverproc.Terminate(cmd.Process, done, 5*time.Second)
		})
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "nginx listens on %s", listen)
	reload := func(upgrade bool) {
		write(upgrade)
		require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	}
	return playNginx{stop: stop, reload: reload}
}

//go:build !js

package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/client/core"
	"github.com/arenaserver/arena/client/render"
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/draw"
)

// artifactPath is where the window test keeps its screenshot: artifacts/
// at the repository root (ignored by git).
func artifactPath(t *testing.T, name string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	dir := filepath.Join(filepath.Dir(file), "..", "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return filepath.Join(dir, name)
}

// playBots seats n arena bots in one room (each quick-joins after the
// previous one is seated, so they share the fullest room) and plays them
// until ctx ends: each is a core.Session, the client without a window,
// moved by the arena's brain at 60 frames a second. It returns once they
// are all playing; done closes when they have left.
func playBots(ctx context.Context, t *testing.T, url string, n int) (done <-chan struct{}) {
	t.Helper()
	reg, err := game.NewRegistry(arena.Def)
	require.NoError(t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var bots []*core.Session
	brains := make([]game.Brain, n)
	for i := range n {
		s := core.New(core.Config{URL: url, Name: fmt.Sprintf("bot%d", i+1), Games: reg, Logger: quiet})
		bots = append(bots, s)
		brains[i] = arena.Def.Brain(uint64(7 + i))
		require.True(t, s.QuickJoin(false))
		deadline := time.Now().Add(20 * time.Second)
		for s.View().Phase != core.PhasePlaying {
			require.True(t, time.Now().Before(deadline), "bot %d never seated; status %q", i+1, s.View().Status)
			time.Sleep(10 * time.Millisecond)
			s.Update(time.Now(), nil)
		}
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer func() {
			for _, s := range bots {
				s.Close()
			}
		}()
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		var m game.Move
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tk.C:
				for i, s := range bots {
					m.Reset()
					sc := s.View().Scene
					if sc == nil {
						sc = &game.Scene{}
					}
					brains[i].Act(sc, &m)
					s.Update(now, &m)
				}
			}
		}
	}()
	return ch
}

// TestWindowShowsTheArena is the real-window test: a server where four
// bots play, and the client binary in an X virtual framebuffer (Xvfb,
// software OpenGL) quick-joining the same match. The client saves a
// screenshot after showing the arena for three seconds and exits; the test
// checks that the picture is the arena: mostly floor, the walls' colour
// over a wall-sized area, and several players' colours.
//
// xvfb-run must be installed (`make setup` does it, as `make test` and CI
// run it first); without it the test fails rather than skips.
func TestWindowShowsTheArena(t *testing.T) {
	xvfb, err := exec.LookPath("xvfb-run")
	require.NoError(t, err, "xvfb-run is missing: run `make setup` (it installs the Debian package xvfb and the GL libraries the window test needs)")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	serverBin, err := serverproc.Build(ctx, dir, "")
	require.NoError(t, err)
	clientBin := filepath.Join(dir, "arena-client")
	build := exec.CommandContext(ctx, "go", "build", "-o", clientBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // pure Go, no -race: the window runs at full speed
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./client: %s", out)

	srv, err := serverproc.Start(serverBin, "-addr", "127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Kill()
	url := "ws://" + srv.Addr + "/ws"

	botCtx, stopBots := context.WithCancel(ctx)
	botsDone := playBots(botCtx, t, url, 4)
	defer func() {
		stopBots()
		<-botsDone
	}()

	shot := artifactPath(t, "client-window.png")
	_ = os.Remove(shot)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, xvfb, "-a", "-s", "-screen 0 1280x800x24",
		clientBin, "-server", url, "-name", "window-test", "-autojoin", "quick",
		"-screenshot", shot, "-screenshot-after", "3s", "-frame-stats")
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("client ran %v; its output:\n%s", time.Since(start).Round(time.Millisecond), stderr.String())
	require.NoError(t, err)
	t.Logf("screenshot kept at %s", shot)

	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, render.ScreenW, render.ScreenH), img.Bounds())

	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}]++
		}
	}
	total := b.Dx() * b.Dy()
	assert.Greater(t, len(counts), 10, "a blank or single-colour image")
	floor := counts[draw.Floor]
	assert.Greater(t, floor, total/2, "the arena floor covers most of the window")
	// The nine walls of the default arena cover 51,840 pixels; names and
	// players may hide a little of them.
	assert.Greater(t, counts[draw.WallColor], 40_000, "the walls are drawn")
	assert.Less(t, counts[draw.WallColor], 60_000)
	players := 0
	var seen []string
	for i, c := range draw.Palette {
		if counts[c] >= 150 { // a player's square is 24×24 = 576 pixels
			players++
			seen = append(seen, fmt.Sprintf("%d:%d", i, counts[c]))
		}
	}
	assert.GreaterOrEqual(t, players, 3, "player colours present (palette index:pixels) %v", seen)
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"-server", "ws://127.0.0.1:9/ws", "-name", "ann", "-lag", "150ms", "-jitter", "30ms",
		"-bandwidth", "20000", "-autojoin", "quick", "-exit-after", "5s", "-zoom", "0.5"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "ws://127.0.0.1:9/ws", o.core.URL)
	assert.Equal(t, "ann", o.core.Name)
	assert.Equal(t, 150*time.Millisecond, o.core.Link.Latency)
	assert.Equal(t, 30*time.Millisecond, o.core.Link.Jitter)
	assert.Equal(t, 20000, o.core.Link.Bandwidth)
	assert.Equal(t, "quick", o.render.AutoJoin)
	assert.Equal(t, 5*time.Second, o.render.ExitAfter)
	assert.Equal(t, 0.5, o.render.Zoom)

	for _, bad := range [][]string{{"-lag", "-1s"}, {"-transport", "smoke"}, {"-zoom", "9"}, {"-name", "a-name-that-is-far-too-long-for-it"}, {"extra"}, {"-nope"}} {
		_, err := parseFlags(bad, &stderr)
		assert.Error(t, err, "%v", bad)
	}
	assert.Equal(t, 2, run([]string{"-bandwidth", "-5"}, &stderr))
	assert.Equal(t, 2, run([]string{"-game", "chess"}, &stderr))
	assert.Contains(t, stderr.String(), `no game "chess" (known: arena, canvas)`)
	stderr.Reset()
	assert.Equal(t, 0, run([]string{"-h"}, &stderr))
	assert.Contains(t, stderr.String(), "-jitter")
	assert.Contains(t, stderr.String(), "arena      top-down arena shooter", "-h lists the games")
}

// TestGamesRegistry: every game of the client has a renderer, the default
// is the arena, and -game picks the game quick join and create play.
func TestGamesRegistry(t *testing.T) {
	reg, renderers := games()
	require.NotEmpty(t, reg.Defs())
	assert.Equal(t, "arena", reg.Defs()[0].Name)
	for _, d := range reg.Defs() {
		mk := renderers[d.Name]
		require.NotNil(t, mk, d.Name)
		assert.NotNil(t, mk(), d.Name)
	}
	var stderr bytes.Buffer
	o, err := parseFlags(nil, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "arena", o.core.Game)
	assert.Same(t, reg.Lookup("arena"), o.core.Games.Lookup("arena"))
	o, err = parseFlags([]string{"-game", "arena"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "arena", o.core.Game)
}

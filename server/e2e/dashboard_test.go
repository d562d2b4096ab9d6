package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
)

// need returns the path of a program the test cannot run without. It fails
// (never skips) with what to install.
func need(t *testing.T, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for the dashboard browser test and was not found on PATH: %s", name, how)
	}
	return p
}

// npmCI installs the pinned browser driver (package-lock.json) unless the
// locked version is already there.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &lock))
	want := lock.Packages["node_modules/playwright-core"].Version
	require.NotEmpty(t, want, "package-lock.json pins playwright-core")
	var have struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err == nil {
		_ = json.Unmarshal(b, &have)
	}
	if have.Version == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci in %s:\n%s", dir, out)
}

// TestDashboardInBrowser opens the dashboard in headless Chromium while bots
// play: the room list shows the rooms with the right player counts, the
// match view changes between two screenshots, and a missing or wrong token
// is refused. Screenshots are kept in artifacts/dashboard.
func TestDashboardInBrowser(t *testing.T) {
	chromium := need(t, "chromium", "install Debian's chromium (make setup, or apt-get install chromium)")
	need(t, "node", "install Node.js")
	need(t, "npm", "install npm")
	dir, err := filepath.Abs("browser")
	require.NoError(t, err)
	npmCI(t, dir)
	artifacts, err := filepath.Abs(filepath.Join("..", "..", "artifacts", "dashboard"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	const token = "e2e-admin-token"
	srv := startServer(t, "-admin-token", token)
	base := "http://" + srv.Addr

	// Without a browser: the token is checked on every route.
	code, _ := get(t, base+"/dashboard/")
	assert.Equal(t, 401, code, "missing token")
	code, _ = get(t, base+"/dashboard/api/rooms", "Authorization", "Bearer nope")
	assert.Equal(t, 403, code, "wrong token")
	code, _ = get(t, base+"/dashboard/api/stream?token=nope")
	assert.Equal(t, 403, code, "wrong token")
	code, body := get(t, base+"/dashboard/api/rooms", "Authorization", "Bearer "+token)
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"rooms":[]`)

	const bots, roomSize = 8, 4
	ctx, stop := context.WithCancel(context.Background())
	reports := make(chan *swarm.Report, 1)
	go func() {
		rep, err := swarm.Run(ctx, swarm.Config{Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: bots, RoomSize: roomSize, Seed: 9})
		assert.NoError(t, err)
		reports <- rep
	}()
	defer func() {
		stop()
		rep := <-reports
		assert.Equal(t, bots, rep.Connected)
	}()

	runCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "node", "dashboard.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "BASE="+base, "TOKEN="+token, "OUT="+artifacts,
		"EXPECT_ROOMS="+strconv.Itoa(bots/roomSize), "EXPECT_PLAYERS="+strconv.Itoa(roomSize))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "node dashboard.js: %s", stderr.String())

	var saw struct {
		Missing, Wrong, OK int
		URL                string
		Rooms              []struct {
			ID      string
			Players int
			Names   string
		}
		Summary           string
		Tick1, Tick2      uint32
		ScreenshotsDiffer bool
		Watching          string
		Errors            []string
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &saw), "output: %s", stdout.String())
	t.Logf("browser saw: %+v", saw)
	assert.Empty(t, saw.Errors)
	assert.Equal(t, 401, saw.Missing, "no token")
	assert.Equal(t, 403, saw.Wrong, "wrong token")
	assert.Equal(t, 200, saw.OK)
	assert.NotContains(t, saw.URL, token, "the token leaves the address bar")
	require.Len(t, saw.Rooms, bots/roomSize)
	for _, r := range saw.Rooms {
		assert.Equal(t, roomSize, r.Players, "room %s", r.ID)
		assert.Equal(t, roomSize, strings.Count(r.Names, "bot-"), "room %s names: %s", r.ID, r.Names)
	}
	assert.Contains(t, saw.Summary, strconv.Itoa(bots)+" players")
	assert.Positive(t, saw.Tick1)
	assert.Greater(t, saw.Tick2, saw.Tick1, "the match view follows the room")
	assert.True(t, saw.ScreenshotsDiffer, "the match view changes between two screenshots")
	one, err := os.ReadFile(filepath.Join(artifacts, "match-1.png"))
	require.NoError(t, err)
	two, err := os.ReadFile(filepath.Join(artifacts, "match-2.png"))
	require.NoError(t, err)
	assert.NotEqual(t, one, two)
	t.Logf("screenshots in %s", artifacts)
}

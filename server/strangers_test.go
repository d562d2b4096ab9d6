package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode/client"
)

// TestMetricsNeedTheAdminToken (issue 13, item 7): /metrics on the public
// address is refused without the admin token, before any work, however
// often it is asked on one keep-alive connection; the admin address serves
// it; a player in a match keeps every snapshot meanwhile.
func TestMetricsNeedTheAdminToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-admin-token", "tok", "-admin-addr", "127.0.0.1:0", "-drain-grace", "100ms"},
			env(nil), &logs, ready)
	}()
	defer func() {
		cancel()
		<-done
	}()
	addr := <-ready
	m := regexp.MustCompile(`admin listener \(pprof, metrics\)" addr=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m)

	var mu sync.Mutex
	ticks := map[uint32]bool{}
	player, err := client.Dial(context.Background(), client.Config{URL: "ws://" + addr + "/ws", Name: "p",
		OnSnapshot: func(s *client.Snapshot) { mu.Lock(); ticks[s.Tick] = true; mu.Unlock() }})
	require.NoError(t, err)
	defer player.Close()
	j, err := player.Join(context.Background(), "", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(ticks) > 5 }, 2*time.Second, time.Millisecond)
	mu.Lock()
	from := j.GetTick() + 10
	mu.Unlock()

	keepAlive := &http.Client{Timeout: 5 * time.Second}
	refused, asked := 0, 0
	for start := time.Now(); time.Since(start) < time.Second; asked++ {
		resp, err := keepAlive.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			refused++
		}
	}
	keepAlive.CloseIdleConnections()
	t.Logf("%d /metrics requests without a token on one connection, %d refused", asked, refused)
	assert.Equal(t, asked, refused, "every one refused")

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := plainHTTP.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	req.Header.Set("Authorization", "Bearer tok")
	code, body := statusOf(t, req)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "arena_budget_refusals_total")
	code, body = status(t, "http://"+m[1]+"/metrics")
	assert.Equal(t, http.StatusOK, code, "the admin address needs no token")
	assert.Contains(t, body, "arena_rooms")

	// The player kept every snapshot of the window, counted by tick.
	mu.Lock()
	defer mu.Unlock()
	to, got, want := uint32(0), 0, 0
	for tk := range ticks {
		to = max(to, tk)
	}
	for tk := from; tk+10 <= to; tk += 2 {
		want++
		if ticks[tk] || ticks[tk+1] {
			got++
		}
	}
	require.Positive(t, want)
	assert.GreaterOrEqual(t, float64(got)/float64(want), 0.99, "%d of %d snapshots", got, want)
}

func statusOf(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := plainHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEveryFlagIsRangeChecked (issue 13, a new user's report): a value out
// of range is refused at start with one line naming the flag, and exit
// status 2; nothing is announced to clients as 0.
func TestEveryFlagIsRangeChecked(t *testing.T) {
	bad := [][]string{
		{"-tick-rate", "0"}, {"-tick-rate", "1000"}, {"-tick-rate", "fast"}, {"-snapshot-rate", "0"}, {"-snapshot-rate", "100"},
		{"-room-size", "-1"}, {"-room-size", "300"}, {"-max-rooms", "0"}, {"-empty-grace", "-1s"}, {"-max-message", "10"},
		{"-gc-percent", "0"}, {"-log-format", "xml"}, {"-log-level", "loud"}, {"-hold", "-1s"}, {"-hold", "0s"},
		{"-token-ttl", "-1h"}, {"-heartbeat", "0s"}, {"-heartbeat-timeout", "500ms"}, {"-drain-grace", "-5s"},
		{"-read-header-timeout", "0s"}, {"-idle-timeout", "-1s"}, {"-read-timeout", "-1s"}, {"-write-timeout", "0s"},
		{"-hello-timeout", "-1s"}, {"-body-timeout", "0s"}, {"-rate-sustain", "-1s"}, {"-max-header-bytes", "10"},
		{"-max-body", "100"}, {"-max-sessions", "0"}, {"-max-conns-per-ip", "0"}, {"-max-sessions-per-ip", "-5"},
		{"-max-rooms-per-ip", "0"}, {"-max-http-conns-per-ip", "0"}, {"-input-rate", "-1"}, {"-input-burst", "0"},
		{"-event-rate", "0"}, {"-message-rate", "-1"}, {"-byte-rate", "10"}, {"-lobby-rate", "0"},
		{"-lobby-rate-per-ip", "-1"}, {"-event-rate-per-ip", "0"}, {"-max-listed-rooms", "0"}, {"-send-buffer", "100"},
		{"-require-fleet"}, {"-play-dir", "main.go"}, {"-redis", "redis://127.0.0.1:1", "-fleet-ttl", "1ms"}, {"-redis", "redis://127.0.0.1:1", "-fleet-heartbeat", "-1s"},
		{"-redis", "redis://127.0.0.1:1", "-handoff-timeout", "0s"}, {"-redis", "redis://127.0.0.1:1", "-handoff-max-bytes", "100"},
		{"-redis", "redis://127.0.0.1:1", "-checkpoint", "1ms"},
	}
	for _, args := range bad {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), env(nil), &stderr, nil)
		assert.Equal(t, 2, code, "%v", args)
		out := strings.TrimSpace(stderr.String())
		assert.NotContains(t, out, "\n", "%v: one line, got:\n%s", args, out)
		flagName := args[0]
		if len(args) > 2 {
			flagName = args[len(args)-2] // the last flag is the bad one
		}
		assert.Contains(t, out, flagName, "%v names the flag: %s", args, out)
	}
	// A lower tick rate alone brings the snapshot rate down with it.
	o, err := parseFlags([]string{"-tick-rate", "20"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, uint(20), o.snapshotRate)
}

// TestRequireFleet: an unreachable Redis is stated at start; alone is the
// default (the server serves its own rooms until Redis answers), and
// -require-fleet makes it an error instead (exit status 1).
func TestRequireFleet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	redis := fmt.Sprintf("redis://%s", dead)

	var stderr syncBuffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-redis", redis, "-require-fleet"}, env(nil), &stderr, nil)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "-require-fleet: Redis at "+redis+" is unreachable")

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-redis", redis, "-drain-grace", "100ms"}, env(nil), &logs, ready)
	}()
	<-ready
	assert.Contains(t, logs.String(), "Redis is unreachable at start: serving alone")
	cancel()
	assert.Equal(t, 0, <-done)
}

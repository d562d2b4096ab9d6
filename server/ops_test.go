package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// syncBuffer is a log sink the test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var plainHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

func status(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := plainHTTP.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAddrIsLoopbackByDefault(t *testing.T) {
	assert.Equal(t, "127.0.0.1:6060", adminAddr(":6060"))
	assert.Equal(t, "127.0.0.1:6060", adminAddr("6060"))
	assert.Equal(t, "0.0.0.0:6060", adminAddr("0.0.0.0:6060"))
	assert.Equal(t, "[::1]:6060", adminAddr("[::1]:6060"))
}

func TestDrainGraceFlag(t *testing.T) {
	o, err := parseFlags(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, o.drainGrace)
	assert.Empty(t, o.adminAddr, "no admin listener unless asked")
	o, err = parseFlags(nil, env(map[string]string{"ARENA_DRAIN_GRACE": "5s", "ARENA_ADMIN_TOKEN": "t"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, o.drainGrace)
	assert.Equal(t, "t", o.adminToken)
	_, err = parseFlags([]string{"-drain-grace", "0s"}, env(nil), io.Discard)
	assert.Error(t, err)
}

// TestRunDrainsInProcess runs the whole server in this process, so that
// goleak (TestMain) sees any goroutine the drain and shutdown leave behind.
func TestRunDrainsInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var logs syncBuffer
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-drain-grace", "1500ms", "-admin-addr", "127.0.0.1:0"}, env(nil), &logs, ready)
	}()
	addr := <-ready
	base := "http://" + addr

	m := regexp.MustCompile(`admin listener \(pprof, metrics\)" addr=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m, "admin address logged:\n%s", logs.String())
	code, body := status(t, "http://"+m[1]+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine")
	code, _ = status(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "pprof is only on the admin address")
	assert.Regexp(t, `admin_token=[0-9a-f]{32}`, logs.String(), "a generated token is logged")
	code, _ = status(t, base+"/dashboard/")
	assert.Equal(t, http.StatusUnauthorized, code)

	var mu sync.Mutex
	var pushed []*netcode.Error
	player, err := client.Dial(context.Background(), client.Config{URL: "ws://" + addr + "/ws", Name: "p",
		OnError: func(e *netcode.Error) { mu.Lock(); pushed = append(pushed, e); mu.Unlock() }})
	require.NoError(t, err)
	defer player.Close()
	_, err = player.Join(context.Background(), "", false)
	require.NoError(t, err)
	late, err := client.Dial(context.Background(), client.Config{URL: "ws://" + addr + "/ws", Name: "late"})
	require.NoError(t, err)
	defer late.Close()
	code, _ = status(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code)

	start := time.Now()
	cancel() // as SIGTERM does
	require.Eventually(t, func() bool { c, _ := status(t, base+"/readyz"); return c == http.StatusServiceUnavailable },
		time.Second, 10*time.Millisecond, "not ready at once")
	_, err = late.Join(context.Background(), "", false)
	var ne *netcode.Error
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, ne.Code)
	assert.Less(t, time.Since(start), time.Second)

	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(8 * time.Second):
		t.Fatal("server did not stop after the grace")
	}
	assert.GreaterOrEqual(t, time.Since(start), 1400*time.Millisecond, "the match had the whole grace")
	<-player.Done()
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, pushed)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, pushed[len(pushed)-1].Code)
	<-late.Done()
}

// TestDrainOnRequest (issue 16): POST /drain on the admin address drains
// the server as SIGTERM does, and run returns 0 when it is done.
func TestDrainOnRequest(t *testing.T) {
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var logs syncBuffer
	go func() {
		done <- run(context.Background(), []string{"-addr", "127.0.0.1:0", "-drain-grace", "200ms", "-admin-addr", "127.0.0.1:0"}, env(nil), &logs, ready)
	}()
	<-ready
	m := regexp.MustCompile(`admin listener \(pprof, metrics\)" addr=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m)
	resp, err := http.Post("http://"+m[1]+"/drain", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not drain and exit")
	}
	assert.Contains(t, logs.String(), "drain requested on the admin address")
	assert.Contains(t, logs.String(), "stopped")
}

package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagsEnvironmentAndPrecedence(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags(nil, env(nil), &stderr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", o.addr)
	assert.Equal(t, uint(60), o.tickRate)
	assert.Equal(t, uint(30), o.snapshotRate)
	assert.Zero(t, o.roomSize, "each game's own seats")

	o, err = parseFlags(nil, env(map[string]string{"ARENA_TICK_RATE": "30", "ARENA_ROOM_SIZE": "8"}), &stderr)
	require.NoError(t, err)
	assert.Equal(t, uint(30), o.tickRate)
	assert.Equal(t, 8, o.roomSize)

	o, err = parseFlags([]string{"-tick-rate", "20"}, env(map[string]string{"ARENA_TICK_RATE": "30"}), &stderr)
	require.NoError(t, err)
	assert.Equal(t, uint(20), o.tickRate, "the command line wins over the environment")

	_, err = parseFlags(nil, env(map[string]string{"ARENA_TICK_RATE": "fast"}), &stderr)
	assert.ErrorContains(t, err, "ARENA_TICK_RATE")
	_, err = parseFlags([]string{"-log-format", "xml"}, env(nil), &stderr)
	assert.Error(t, err)
}

func TestRunRefusesImpossibleSettings(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-tick-rate", "1000"}, env(nil), &stderr, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "-tick-rate must be 10..240")
}

func TestRunServesHealthzAndStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(nil), &stderr, ready) }()
	addr := <-ready
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

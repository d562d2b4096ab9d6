package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFleetFlags(t *testing.T) {
	o, err := parseFlags(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.redis, "alone unless Redis is named")
	assert.Empty(t, o.publicAddr)
	assert.Empty(t, o.mode, "the default game's name, once the games are known")
	assert.Equal(t, time.Second, o.fleetHeartbeat)
	assert.Equal(t, 3*time.Second, o.fleetTTL)
	assert.Equal(t, 10*time.Second, o.reservationTTL)

	o, err = parseFlags(nil, env(map[string]string{"ARENA_REDIS": "redis://10.0.0.5:6379", "ARENA_PUBLIC_ADDR": "game-1:8080"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "redis://10.0.0.5:6379", o.redis)
	assert.Equal(t, "game-1:8080", o.publicAddr)

	_, err = parseFlags([]string{"-redis", "redis://x", "-fleet-heartbeat", "1s", "-fleet-ttl", "1500ms"}, env(nil), io.Discard)
	assert.ErrorContains(t, err, "-fleet-ttl")
	_, err = parseFlags([]string{"-fleet-ttl", "1ms"}, env(nil), io.Discard)
	assert.NoError(t, err, "fleet timings only matter with -redis")
}

func TestRunRefusesABadRedisURL(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-redis", "mysql://nope"}, env(nil), &stderr, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "Redis URL")
}

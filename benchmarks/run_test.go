package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMergeReports: reports of several bot processes add up their bots
// and errors, weigh per-bot rates by bots and keep the worst p99.
func TestMergeReports(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	require.NoError(t, os.WriteFile(a, []byte(`{"connected": 30, "errors": 1, "snapshots_per_bot_s": 30, "bytes_down_per_bot_s": 2000,
		"bytes_up_per_bot_s": 1000, "input_ack_ms": {"p50": 20, "p99": 35, "max": 40}}`), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(`{"connected": 10, "errors": 0, "snapshots_per_bot_s": 26, "bytes_down_per_bot_s": 2400,
		"bytes_up_per_bot_s": 1200, "input_ack_ms": {"p50": 24, "p99": 51, "max": 60}}`), 0o644))
	r, err := mergeReports([]string{a, b}, []*proc{{}, {}})
	require.NoError(t, err)
	assert.Equal(t, 40, r.Connected)
	assert.Equal(t, 1, r.Errors)
	assert.InDelta(t, 29, r.SnapshotsPerBotS, 1e-9)
	assert.InDelta(t, 2100, r.BytesDownPerBotS, 1e-9)
	assert.InDelta(t, 1050, r.BytesUpPerBotS, 1e-9)
	assert.InDelta(t, 21, r.InputAckMs.P50, 1e-9)
	assert.InDelta(t, 51, r.InputAckMs.P99, 1e-9)
}

// TestScenariosAreKnown: each scenario has rooms and a description, and
// rooms-64 sets the arena's view radius on the server.
func TestScenariosAreKnown(t *testing.T) {
	for name, sc := range scenarios {
		assert.Positive(t, sc.roomSize, name)
		assert.NotEmpty(t, sc.about, name)
	}
	o := &options{viewRadius: 250}
	assert.Equal(t, []string{"-game-param", "arena.view-radius=250"}, scenarios["rooms-64"].serverArgs(o))
	assert.Equal(t, 64, scenarios["rooms-64"].roomSize)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
)

func TestJSONReportHasExactlyTheAgreedFields(t *testing.T) {
	bin, err := serverproc.Build(context.Background(), t.TempDir(), "")
	require.NoError(t, err)
	srv, err := serverproc.Start(bin, "-addr", "127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Kill()

	path := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", "ws://" + srv.Addr + "/ws", "-n", "4",
		"-duration", "2s", "-json", path, "-quiet"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "snapshots/s per bot")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"acked_inputs_lost_or_doubled", "bots", "bytes_down_per_bot_s", "bytes_up_per_bot_s",
		"connected", "crash_inputs_lost", "crash_pause_s", "crash_play_lost_s", "duration_s", "errors", "game", "input_ack_ms", "matches_ended", "move_bytes",
		"move_full_snapshot_bytes", "move_full_snapshots", "move_pause_ms", "move_snapshot_bytes", "moves",
		"restores", "sessions_lost", "snapshots_per_bot_s", "transport"}, keys)
	var nested struct {
		InputAck  map[string]float64 `json:"input_ack_ms"`
		Transport map[string]int     `json:"transport"`
		Bots      int                `json:"bots"`
		Game      string             `json:"game"`
	}
	require.NoError(t, json.Unmarshal(raw, &nested))
	assert.Len(t, nested.InputAck, 3)
	assert.Contains(t, nested.InputAck, "p50")
	assert.Contains(t, nested.InputAck, "p99")
	assert.Contains(t, nested.InputAck, "max")
	assert.Equal(t, map[string]int{"ws": 4, "poll": 0}, nested.Transport)
	assert.Equal(t, 4, nested.Bots)
	assert.Equal(t, "arena", nested.Game, "the default game")
}

// TestBotsPlayOverPollingAlone runs bots with -transport poll against the
// server binary: every bot connects over polling, receives the snapshots
// the server sent (counted in server ticks, not by the wall clock), has
// its inputs acknowledged within a sane bound, and nothing fails.
func TestBotsPlayOverPollingAlone(t *testing.T) {
	bin, err := serverproc.Build(context.Background(), t.TempDir(), "")
	require.NoError(t, err)
	srv, err := serverproc.Start(bin, "-addr", "127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Kill()

	path := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-server", "ws://" + srv.Addr + "/ws", "-game", "arena", "-n", "8", "-room-size", "4",
		"-transport", "poll", "-duration", "3s", "-json", path, "-quiet"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep struct {
		Connected int                `json:"connected"`
		Errors    int                `json:"errors"`
		Snapshots float64            `json:"snapshots_per_bot_s"`
		InputAck  map[string]float64 `json:"input_ack_ms"`
		Transport map[string]int     `json:"transport"`
	}
	require.NoError(t, json.Unmarshal(raw, &rep))
	assert.Equal(t, map[string]int{"ws": 0, "poll": 8}, rep.Transport)
	assert.Equal(t, 8, rep.Connected)
	assert.Zero(t, rep.Errors)
	assert.Positive(t, rep.Snapshots)
	// The worst bot's share of the snapshots sent, from the summary.
	m := regexp.MustCompile(`snapshot delivery\s+worst bot ([0-9.]+)%`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m, "stdout: %s", stdout.String())
	worst, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, worst, 90.0, "snapshots delivered over polling, %%")
	assert.Positive(t, rep.InputAck["p50"], "inputs acknowledged")
	// A sanity bound: -race and parallel test packages share two cores; the
	// latency target is measured in benchmarks/.
	assert.Less(t, rep.InputAck["p99"], 500.0, "input→ack p99 in ms")
}

func TestExitStatusWhenBotsCannotConnect(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"-server", "ws://127.0.0.1:1/ws", "-n", "2", "-duration", "100ms", "-quiet"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "connect")
}

func TestBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-n", "0"}, &stdout, &stderr))
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, &stdout, &stderr))
	assert.Equal(t, 2, run(context.Background(), []string{"-transport", "carrier-pigeon"}, &stdout, &stderr))
	assert.Equal(t, 2, run(context.Background(), []string{"-lag", "-1s"}, &stdout, &stderr))
	assert.Equal(t, 2, run(context.Background(), []string{"-input-batch", "0"}, &stdout, &stderr))
	assert.Equal(t, 2, run(context.Background(), []string{"-input-batch", "5"}, &stdout, &stderr))
	stderr.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"-game", "chess"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `no game "chess" (known: arena`)
	stderr.Reset()
	assert.Equal(t, 0, run(context.Background(), []string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-server")
	assert.Contains(t, stderr.String(), "-jitter")
	assert.Contains(t, stderr.String(), "-game")
	// -h lists the games of the registry, the default first.
	assert.Regexp(t, `Games \(-game NAME; the first is the default\):\n  arena +top-down arena shooter`, stderr.String())
}

// TestRegistry: every game the bots offer is valid, has a brain, and the
// default is the arena.
func TestRegistry(t *testing.T) {
	reg := games()
	require.NotEmpty(t, reg.Defs())
	assert.Equal(t, "arena", reg.Defs()[0].Name)
	for _, d := range reg.Defs() {
		assert.NoError(t, d.Validate(), d.Name)
		assert.NotNil(t, d.Brain, "%s: bots cannot play a game without a brain", d.Name)
	}
}

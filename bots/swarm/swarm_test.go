package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode/linkcond"
)

// startServer runs the real server binary on a free loopback port.
func startServer(t *testing.T, args ...string) *serverproc.Proc {
	t.Helper()
	return serverproc.StartForTest(t, args...)
}

// TestSwarmPlaysAMatch is the end-to-end test: a real server process, real
// bots over real WebSockets for several seconds.
func TestSwarmPlaysAMatch(t *testing.T) {
	srv := startServer(t)
	rep, err := Run(context.Background(), Config{
		Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: 12, RoomSize: 6, Duration: 5 * time.Second, Seed: 3,
	})
	require.NoError(t, err)
	require.Empty(t, rep.ErrorList)
	assert.Equal(t, 12, rep.Connected)
	assert.Zero(t, rep.Errors)
	assert.False(t, rep.Failed())
	// Every bot receives snapshots at the configured rate, ±10%.
	require.Len(t, rep.SnapshotRates, 12)
	for i, r := range rep.SnapshotRates {
		assert.InDelta(t, 30, r, 3, "bot %d snapshots/s", i)
	}
	// Inputs are acknowledged, within a sane bound even under -race on a
	// loaded machine (the latency target is measured in benchmarks/).
	assert.Positive(t, rep.InputAckMs.P50)
	assert.Less(t, rep.InputAckMs.P99, 1000.0)
	// Each bot's own player moves as its inputs say: the server's position
	// matches the bot's replay of its inputs with the game's movement code.
	// Only a death or an input that arrived too late for its tick may make
	// them differ.
	require.Greater(t, rep.PredictionChecks, uint64(500))
	assert.Less(t, float64(rep.PredictionMisses)/float64(rep.PredictionChecks), 0.05,
		"%d of %d predictions corrected", rep.PredictionMisses, rep.PredictionChecks)
	assert.Positive(t, rep.BytesDownPerBotS)
	assert.Positive(t, rep.BytesUpPerBotS)
}

func TestSwarmReportsConnectFailures(t *testing.T) {
	rep, err := Run(context.Background(), Config{Game: arena.Def, URL: "ws://127.0.0.1:1/ws", Bots: 3, Duration: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Zero(t, rep.Connected)
	assert.Equal(t, 3, rep.Errors)
	assert.True(t, rep.Failed())
	assert.NotEmpty(t, rep.ErrorList)
}

// TestSwarmOverAConditionedLink: the same match with 100 ms of round trip
// and ±20 ms of jitter added on the bots' side. Inputs take at least the
// added round trip to be acknowledged, and the server still agrees with
// every own-player prediction: it applies each input once, in order.
func TestSwarmOverAConditionedLink(t *testing.T) {
	srv := startServer(t)
	rep, err := Run(context.Background(), Config{
		Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: 4, RoomSize: 4, Duration: 4 * time.Second, Seed: 5,
		Link: linkcond.Config{Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond},
	})
	require.NoError(t, err)
	require.Empty(t, rep.ErrorList)
	assert.Equal(t, 4, rep.Connected)
	assert.GreaterOrEqual(t, rep.InputAckMs.P50, 100.0, "the link conditioner is in the path")
	require.Greater(t, rep.PredictionChecks, uint64(200))
	assert.Zero(t, rep.PredictionMisses, "of %d predictions", rep.PredictionChecks)
}

func TestCheapBotsAckAndMeasure(t *testing.T) {
	srv := startServer(t)
	rep, err := Run(context.Background(), Config{
		Game: arena.Def, URL: "ws://" + srv.Addr + "/ws", Bots: 8, RoomSize: 8, Duration: 2 * time.Second, Seed: 5, Cheap: true,
	})
	require.NoError(t, err)
	require.Empty(t, rep.ErrorList)
	assert.Equal(t, 8, rep.Connected)
	assert.InDelta(t, 30, rep.SnapshotsPerBotS, 3)
	assert.Positive(t, rep.InputAckMs.P50, "inputs acknowledged")
	assert.Zero(t, rep.PredictionChecks, "cheap bots do not predict")
	// They acknowledge ticks they never decoded: the server sends deltas.
	assert.Less(t, rep.BytesDownPerBotS, 6000.0)
}

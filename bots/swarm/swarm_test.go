package swarm

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/canvas"
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
	assert.Equal(t, "arena", rep.Game)
	assert.Equal(t, 12, rep.Connected)
	assert.Zero(t, rep.Errors)
	assert.False(t, rep.Failed())
	// Every bot receives the snapshots the server sent (the configured
	// snapshot rate, counted in the server's ticks rather than by the wall
	// clock, which a loaded machine stretches), within 10%.
	require.Len(t, rep.SnapshotDelivery, 12)
	for i, d := range rep.SnapshotDelivery {
		assert.InDelta(t, 1, d, 0.1, "bot %d: share of the snapshots sent", i)
	}
	// Inputs are acknowledged, within a sane bound even under -race on a
	// loaded machine (the latency target is measured in benchmarks/).
	assert.Positive(t, rep.InputAckMs.P50)
	assert.Less(t, rep.InputAckMs.P99, 1000.0)
	// Each bot's own player is where its inputs take it: the server's
	// Predicted fields (position, aim) match the bot's replay of its
	// inputs with the game's Client. An interaction (a hit, a death, a
	// fire cooldown a late input moved) is not compared; nothing else may
	// differ.
	//
	// The only other cause of a difference is an input the server dropped
	// from a full queue (8 waiting), which a starved server can do on a
	// loaded machine: it counts those, and each can spoil the predictions
	// made while it was queued (at most 8). Without drops, not one miss.
	require.Greater(t, rep.PredictionChecks, uint64(500))
	drops := inputDrops(t, srv)
	if drops == 0 {
		assert.Zero(t, rep.PredictionMisses, "of %d predictions (%d after an interaction not compared)",
			rep.PredictionChecks, rep.PredictionInteractions)
	} else {
		assert.LessOrEqual(t, rep.PredictionMisses, 8*drops, "misses beyond the %d inputs the server dropped", drops)
	}
	assert.Positive(t, rep.BytesDownPerBotS)
	assert.Positive(t, rep.BytesUpPerBotS)
	assert.Zero(t, rep.FullSnapshots, "bots acknowledge: deltas after the first snapshot")
}

// TestSwarmPlaysTheCanvas: bots of a game without TickInputs, whose brain
// sends inputs only while its cursor moves and paints with events, play a
// server that hosts it beside the arena: full bots (predicting their
// cursor) and cheap ones on bare WebSockets (events as reliable frames).
// The server refuses malformed inputs and unknown events with an error,
// which would fail a bot.
func TestSwarmPlaysTheCanvas(t *testing.T) {
	srv := startServer(t, "-game", "arena,canvas")
	for _, cheap := range []bool{false, true} {
		rep, err := Run(context.Background(), Config{
			Game: canvas.Def, URL: "ws://" + srv.Addr + "/ws", Bots: 8, RoomSize: 8, Duration: 3 * time.Second, Seed: 7, Cheap: cheap,
		})
		require.NoError(t, err)
		require.Empty(t, rep.ErrorList, "cheap %v", cheap)
		assert.Equal(t, "canvas", rep.Game)
		assert.Equal(t, 8, rep.Connected)
		require.Len(t, rep.SnapshotDelivery, 8)
		for i, d := range rep.SnapshotDelivery {
			assert.InDelta(t, 1, d, 0.1, "bot %d: share of the snapshots sent", i)
		}
		assert.Zero(t, rep.FullSnapshots, "acknowledged without inputs: deltas")
		assert.Positive(t, rep.InputAckMs.P50, "inputs acknowledged")
		if cheap {
			assert.Zero(t, rep.PredictionChecks)
			continue
		}
		require.Positive(t, rep.PredictionChecks, "the cursor is predicted")
		assert.Zero(t, rep.PredictionMisses, "of %d", rep.PredictionChecks)
	}
}

func TestSwarmNeedsAGameWithABrain(t *testing.T) {
	_, err := Run(context.Background(), Config{URL: "ws://127.0.0.1:1/ws", Bots: 1})
	require.ErrorIs(t, err, ErrConfig)
	brainless := *arena.Def
	brainless.Brain = nil
	_, err = Run(context.Background(), Config{Game: &brainless, URL: "ws://127.0.0.1:1/ws", Bots: 1})
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), "no brain")
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
	assert.Equal(t, 8, rep.Transport.WS)
	require.Len(t, rep.SnapshotDelivery, 8)
	for i, d := range rep.SnapshotDelivery {
		assert.InDelta(t, 1, d, 0.1, "bot %d: share of the snapshots sent", i)
	}
	assert.Positive(t, rep.InputAckMs.P50, "inputs acknowledged")
	assert.Zero(t, rep.PredictionChecks, "cheap bots do not predict")
	// They acknowledge ticks they never decoded: the server sends deltas.
	assert.Zero(t, rep.FullSnapshots, "full snapshots while measuring")
	require.Positive(t, rep.SnapshotsPerBotS)
	t.Logf("%.0f bytes a snapshot", rep.BytesDownPerBotS/rep.SnapshotsPerBotS)
	assert.Less(t, rep.BytesDownPerBotS/rep.SnapshotsPerBotS, 200.0)
}

// inputDrops reads from the server's metrics how many inputs it dropped
// from full input queues. Rooms add their counts to the metrics once a
// second (and the empty rooms still tick), so it waits for one more.
func inputDrops(t *testing.T, srv *serverproc.Proc) uint64 {
	t.Helper()
	time.Sleep(1500 * time.Millisecond)
	m := regexp.MustCompile(`admin_token=([0-9a-f]+)`).FindStringSubmatch(srv.Log())
	req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr+"/metrics", nil)
	require.NoError(t, err)
	if m != nil {
		req.Header.Set("Authorization", "Bearer "+m[1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	line := regexp.MustCompile(`(?m)^arena_input_rejections_total\{reason="queue_full"\} (\d+)`).FindSubmatch(body)
	require.NotNil(t, line, "the metric of dropped inputs")
	n, err := strconv.ParseUint(string(line[1]), 10, 64)
	require.NoError(t, err)
	return n
}

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
)

// TestMetricsAgreeWithBots lets bots play a real server and checks the
// scrape against what the bots measured themselves.
func TestMetricsAgreeWithBots(t *testing.T) {
	srv := startServer(t)
	addr := srv.Addr
	before := scrapeMetrics(t, addr)
	assert.Zero(t, before.value(t, "arena_connections", "transport=ws"))
	assert.Zero(t, before.value(t, "arena_rooms"))

	const bots, roomSize = 12, 6
	type result struct {
		rep *swarm.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := swarm.Run(context.Background(), swarm.Config{
			Game: arena.Def, URL: "ws://" + addr + "/ws", Bots: bots, RoomSize: roomSize, Duration: 5 * time.Second, Seed: 5,
		})
		done <- result{rep, err}
	}()

	// While they play: gauges show exactly the bots.
	time.Sleep(3 * time.Second)
	mid := scrapeMetrics(t, addr)
	assert.Equal(t, float64(bots), mid.value(t, "arena_players", "transport=ws"))
	assert.Equal(t, float64(bots), mid.value(t, "arena_connections", "transport=ws"))
	assert.Equal(t, 0.0, mid.value(t, "arena_spectators", "transport=ws"))
	assert.Equal(t, float64(bots/roomSize), mid.value(t, "arena_rooms"))
	assert.Equal(t, float64(bots), mid.value(t, "arena_sessions"))
	assert.Positive(t, mid.value(t, "arena_heartbeat_rtt_seconds"), "heartbeats answered")
	assert.Equal(t, 0.0, mid.value(t, "arena_draining"))
	assert.Greater(t, mid.value(t, "arena_tick_duration_seconds"), 100.0, "ticks are being timed")

	res := <-done
	require.NoError(t, res.err)
	rep := res.rep
	require.False(t, rep.Failed(), "bots failed: %v", rep.ErrorList)
	// Rooms publish their totals about once a second; wait for the flush.
	time.Sleep(1500 * time.Millisecond)
	after := scrapeMetrics(t, addr)

	assert.Equal(t, 0.0, after.value(t, "arena_players", "transport=ws"), "every bot left")
	assert.Equal(t, 0.0, after.value(t, "arena_connections", "transport=ws"))
	assert.Equal(t, float64(bots), after.value(t, "arena_connections_opened_total", "transport=ws"))
	assert.Equal(t, float64(bots), after.value(t, "arena_disconnects_total", "transport=ws", "reason=closed"))
	assert.Equal(t, 0.0, after.value(t, "arena_disconnects_total", "reason=protocol_error"))
	assert.Equal(t, 0.0, after.value(t, "arena_handshake_failures_total"))
	assert.Equal(t, 0.0, after.value(t, "arena_input_rejections_total", "reason=out_of_range"))

	// Snapshots: what the server wrote (offered minus superseded) against
	// what the bots received. The bots measure a window of 5 s after all
	// joined; the server also counts the joining and leaving around it, so
	// it may be a few percent more, never less.
	received := rep.SnapshotsPerBotS * float64(rep.Connected) * rep.DurationS
	offered := after.value(t, "arena_snapshots_total")
	superseded := after.value(t, "arena_outbox_dropped_total", "reason=snapshot_superseded")
	sent := offered - superseded
	t.Logf("snapshots: offered %.0f, superseded %.0f, sent %.0f; bots received %.0f in their window", offered, superseded, sent, received)
	assert.GreaterOrEqual(t, sent, received*0.98)
	assert.LessOrEqual(t, sent, received*1.15)
	assert.InDelta(t, 30*bots*rep.DurationS, received, 0.1*30*bots*rep.DurationS, "30 snapshots/s each")
	assert.Equal(t, offered, after.value(t, "arena_snapshot_size_bytes"), "every snapshot is in the size histogram")

	// Bytes, the same way: the server counts every frame it wrote, the bots
	// the payloads they received in their window.
	down := rep.BytesDownPerBotS * float64(rep.Connected) * rep.DurationS
	up := rep.BytesUpPerBotS * float64(rep.Connected) * rep.DurationS
	sentBytes := after.value(t, "arena_sent_bytes_total", "transport=ws")
	recvBytes := after.value(t, "arena_received_bytes_total", "transport=ws")
	t.Logf("bytes: server sent %.0f, bots received %.0f; bots sent %.0f, server received %.0f", sentBytes, down, up, recvBytes)
	assert.GreaterOrEqual(t, sentBytes, down*0.98)
	assert.LessOrEqual(t, sentBytes, down*1.2)
	assert.GreaterOrEqual(t, recvBytes, up*0.98)
	assert.LessOrEqual(t, recvBytes, up*1.2)
	assert.Greater(t, after.value(t, "arena_sent_messages_total", "transport=ws"), sent, "snapshots and replies")
}

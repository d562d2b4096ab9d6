package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/server/room"
)

func fakeSources() (Sources, *Counters, *room.Totals) {
	c, tot := &Counters{}, &room.Totals{}
	census := Census{}
	census[TransportWS] = TransportStats{Connections: 3, Players: 2, Spectators: 1, Opened: 5, BytesIn: 100,
		MessagesIn: 10, BytesOut: 900, MessagesOut: 30, SnapshotsDropped: 4}
	census[TransportPoll] = TransportStats{Connections: 1, Players: 1, Opened: 1, SnapshotsDropped: 1}
	return Sources{
		Rooms: func() []room.Info {
			return []room.Info{{ID: "r1", Players: 3}, {ID: "r2", OverloadedFor: time.Second}}
		},
		Census:   func() Census { return census },
		Totals:   tot,
		Counters: c,
		Draining: func() bool { return true },
		TickRate: 50,
		Sessions: func() SessionStats {
			return SessionStats{Live: 4, HoldExpired: 2, EventsIn: 7, Unknown: 1, RTTSamples: 9,
				RTTP50: time.Millisecond, RTTP99: 3 * time.Millisecond, RTTMax: 5 * time.Millisecond}
		},
	}, c, tot
}

func TestCollectorFollowsPrometheusConventions(t *testing.T) {
	src, _, _ := fakeSources()
	problems, err := testutil.CollectAndLint(NewCollector(src))
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestCollectorReadsItsSources(t *testing.T) {
	src, c, tot := fakeSources()
	c.Disconnected(TransportWS, DisconnectSlowConsumer)
	c.Disconnected(TransportWS, DisconnectSlowConsumer)
	c.Disconnected(TransportPoll, DisconnectTimeout)
	c.InputRejected(InputOutOfRange, 3)
	c.InputRejected(InputQueueFull, 1)
	tot.InputsDropped.Add(2)
	c.HandshakeFailed(HandshakeVersion)
	c.AuthFailed(AuthAdminToken)
	c.Reconnected()
	c.Reconnected()
	c.Resumed()
	tot.Ticks.Add(4)
	tot.TickNanos.Add(uint64(6 * time.Millisecond))
	tot.TickBucket[0].Add(1)                     // ≤ 50 µs
	tot.TickBucket[6].Add(2)                     // ≤ 4 ms
	tot.TickBucket[len(room.TickBuckets)].Add(1) // > 100 ms
	tot.SnapshotBucket[2].Add(5)                 // ≤ 128 B
	tot.SnapshotBytes.Add(500)
	tot.Snapshots.Add(5)
	tot.Overruns.Add(1)

	want := `
# HELP arena_disconnects_total Client connections ended, by transport and reason.
# TYPE arena_disconnects_total counter
arena_disconnects_total{reason="closed",transport="poll"} 0
arena_disconnects_total{reason="closed",transport="ws"} 0
arena_disconnects_total{reason="internal",transport="poll"} 0
arena_disconnects_total{reason="internal",transport="ws"} 0
arena_disconnects_total{reason="protocol_error",transport="poll"} 0
arena_disconnects_total{reason="protocol_error",transport="ws"} 0
arena_disconnects_total{reason="rate_limited",transport="poll"} 0
arena_disconnects_total{reason="rate_limited",transport="ws"} 0
arena_disconnects_total{reason="resume_refused",transport="poll"} 0
arena_disconnects_total{reason="resume_refused",transport="ws"} 0
arena_disconnects_total{reason="session_moved",transport="poll"} 0
arena_disconnects_total{reason="session_moved",transport="ws"} 0
arena_disconnects_total{reason="shutdown",transport="poll"} 0
arena_disconnects_total{reason="shutdown",transport="ws"} 0
arena_disconnects_total{reason="slow_consumer",transport="poll"} 0
arena_disconnects_total{reason="slow_consumer",transport="ws"} 2
arena_disconnects_total{reason="timeout",transport="poll"} 1
arena_disconnects_total{reason="timeout",transport="ws"} 0
# HELP arena_input_rejections_total Client inputs not applied, by reason.
# TYPE arena_input_rejections_total counter
arena_input_rejections_total{reason="duplicate"} 0
arena_input_rejections_total{reason="far_future"} 0
arena_input_rejections_total{reason="not_in_room"} 0
arena_input_rejections_total{reason="out_of_range"} 3
arena_input_rejections_total{reason="queue_full"} 3
arena_input_rejections_total{reason="rate_limited"} 0
arena_input_rejections_total{reason="stale"} 0
# HELP arena_outbox_dropped_total Frames dropped from client outboxes, by reason.
# TYPE arena_outbox_dropped_total counter
arena_outbox_dropped_total{reason="held_event"} 0
arena_outbox_dropped_total{reason="roster_superseded"} 0
arena_outbox_dropped_total{reason="snapshot_superseded"} 5
# HELP arena_players Sessions seated in a room as players (a held session counts under the transport it last used).
# TYPE arena_players gauge
arena_players{transport="poll"} 1
arena_players{transport="ws"} 2
# HELP arena_reconnects_total Clients that came back presenting a session.
# TYPE arena_reconnects_total counter
arena_reconnects_total 2
# HELP arena_resumes_total Reconnected clients that got their held seat back.
# TYPE arena_resumes_total counter
arena_resumes_total 1
# HELP arena_rooms Rooms open now.
# TYPE arena_rooms gauge
arena_rooms 2
# HELP arena_rooms_overloaded Rooms whose ticks have kept overrunning (more than one in ten) for at least a second.
# TYPE arena_rooms_overloaded gauge
arena_rooms_overloaded 1
# HELP arena_draining 1 while the server drains before a shutdown, else 0.
# TYPE arena_draining gauge
arena_draining 1
# HELP arena_tick_budget_seconds The tick period: the time one tick may take.
# TYPE arena_tick_budget_seconds gauge
arena_tick_budget_seconds 0.02
`
	names := []string{"arena_disconnects_total", "arena_input_rejections_total", "arena_outbox_dropped_total",
		"arena_players", "arena_reconnects_total", "arena_resumes_total", "arena_rooms", "arena_rooms_overloaded",
		"arena_draining", "arena_tick_budget_seconds"}
	col := NewCollector(src)
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(want), names...))

	hist := `
# HELP arena_tick_duration_seconds Time a room spends on one tick (inputs, step, snapshots).
# TYPE arena_tick_duration_seconds histogram
arena_tick_duration_seconds_bucket{le="5e-05"} 1
arena_tick_duration_seconds_bucket{le="0.0001"} 1
arena_tick_duration_seconds_bucket{le="0.00025"} 1
arena_tick_duration_seconds_bucket{le="0.0005"} 1
arena_tick_duration_seconds_bucket{le="0.001"} 1
arena_tick_duration_seconds_bucket{le="0.002"} 1
arena_tick_duration_seconds_bucket{le="0.004"} 3
arena_tick_duration_seconds_bucket{le="0.008"} 3
arena_tick_duration_seconds_bucket{le="0.016"} 3
arena_tick_duration_seconds_bucket{le="0.033"} 3
arena_tick_duration_seconds_bucket{le="0.1"} 3
arena_tick_duration_seconds_bucket{le="+Inf"} 4
arena_tick_duration_seconds_sum 0.006
arena_tick_duration_seconds_count 4
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(hist), "arena_tick_duration_seconds"))
	auth := `
# HELP arena_handshake_failures_total Connections refused before or during the handshake, by reason.
# TYPE arena_handshake_failures_total counter
arena_handshake_failures_total{reason="bad_hello"} 0
arena_handshake_failures_total{reason="conn_limit"} 0
arena_handshake_failures_total{reason="hello_timeout"} 0
arena_handshake_failures_total{reason="origin"} 0
arena_handshake_failures_total{reason="protocol_version"} 1
arena_handshake_failures_total{reason="upgrade"} 0
# HELP arena_auth_failures_total Refused credentials, by reason.
# TYPE arena_auth_failures_total counter
arena_auth_failures_total{reason="admin_token"} 1
arena_auth_failures_total{reason="session_token"} 0
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(auth), "arena_handshake_failures_total", "arena_auth_failures_total"))
	sessions := `
# HELP arena_events_received_total Client events handled, and events without a handler.
# TYPE arena_events_received_total counter
arena_events_received_total{handled="false"} 1
arena_events_received_total{handled="true"} 7
# HELP arena_heartbeat_rtt_seconds Heartbeat round trip over the last heartbeats answered, on every connection.
# TYPE arena_heartbeat_rtt_seconds summary
arena_heartbeat_rtt_seconds{quantile="0.5"} 0.001
arena_heartbeat_rtt_seconds{quantile="0.99"} 0.003
arena_heartbeat_rtt_seconds{quantile="1"} 0.005
arena_heartbeat_rtt_seconds_sum 0
arena_heartbeat_rtt_seconds_count 9
# HELP arena_sessions Live sessions, attached to a transport or held.
# TYPE arena_sessions gauge
arena_sessions 4
# HELP arena_sessions_expired_total Sessions ended because nobody resumed them within the hold window.
# TYPE arena_sessions_expired_total counter
arena_sessions_expired_total 2
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(sessions), "arena_events_received_total",
		"arena_heartbeat_rtt_seconds", "arena_sessions", "arena_sessions_expired_total"))
}

func TestNilCountersIgnoreEvents(t *testing.T) {
	var c *Counters
	c.Disconnected(TransportWS, DisconnectClosed)
	c.InputRejected(InputNotInRoom, 1)
	c.HandshakeFailed(HandshakeUpgrade)
	c.AuthFailed(AuthSessionToken)
	c.Reconnected()
	c.Resumed()
}

func TestReasonNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for r := range numDisconnectReasons {
		assert.False(t, seen[r.String()], r.String())
		seen[r.String()] = true
	}
	assert.Equal(t, "ws", TransportWS.String())
	assert.Equal(t, "poll", TransportPoll.String())
}

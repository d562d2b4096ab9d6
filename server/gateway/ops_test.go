package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/room"
)

// opsClient keeps every server message it receives.
type opsClient struct {
	conn *wsconn.ClientConn
	mu   sync.Mutex
	msgs []*sessionpb.ServerMessage
}

func dialOps(t *testing.T, ts *testServer) *opsClient {
	t.Helper()
	r := &opsClient{}
	c, err := wsconn.Dial(context.Background(), ts.url, wsconn.DialOptions{}, func(b []byte) {
		m := &sessionpb.ServerMessage{}
		if netcode.DecodeServer(b, m) == nil {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
		}
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); <-c.Done() })
	r.conn = c
	return r
}

func (r *opsClient) send(t *testing.T, m *sessionpb.ClientMessage) {
	t.Helper()
	require.NoError(t, r.conn.Send(netcode.Marshal(m)))
}

func (r *opsClient) seen(f func(*sessionpb.ServerMessage) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if f(m) {
			return true
		}
	}
	return false
}

func opsHello(version uint32, name string) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: version, Name: name}}}
}

func TestCensusCountsConnectionsPlayersAndTraffic(t *testing.T) {
	counters := &metrics.Counters{}
	ts := startServer(t, room.Config{}, Config{Metrics: counters})
	a, b := dialPlayer(t, ts, "a"), dialPlayer(t, ts, "b")
	_, err := a.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	c := dialPlayer(t, ts, "c")
	_, err = c.conn.Join(context.Background(), "", true)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.snapshots.Load() > 5 }, 2*time.Second, 5*time.Millisecond)

	ws := ts.gw.Census()[metrics.TransportWS]
	assert.Equal(t, 3, ws.Connections)
	assert.Equal(t, 1, ws.Players)
	assert.Equal(t, 1, ws.Spectators)
	assert.Equal(t, uint64(3), ws.Opened)
	assert.GreaterOrEqual(t, ws.MessagesIn, uint64(5), "3 Hellos and 2 joins")
	assert.Positive(t, ws.BytesIn)
	assert.Greater(t, ws.MessagesOut, uint64(5))
	assert.Greater(t, ws.BytesOut, ws.MessagesOut)

	// Totals survive the connections that made them.
	require.NoError(t, b.conn.Close())
	require.Eventually(t, func() bool { return ts.gw.Census()[metrics.TransportWS].Connections == 2 }, 2*time.Second, 5*time.Millisecond)
	after := ts.gw.Census()[metrics.TransportWS]
	assert.GreaterOrEqual(t, after.MessagesIn, ws.MessagesIn)
	assert.GreaterOrEqual(t, after.BytesOut, ws.BytesOut)
	assert.Equal(t, uint64(3), after.Opened)
	assert.Zero(t, ts.gw.Census()[metrics.TransportPoll].Connections)
}

func TestDisconnectAndHandshakeReasonsAreCounted(t *testing.T) {
	counters := &metrics.Counters{}
	ts := startServer(t, room.Config{}, Config{Metrics: counters})
	// A wrong protocol version, a request before Hello, and inputs outside
	// a room (and out of range) from a well-behaved client.
	bad := dialOps(t, ts)
	bad.send(t, opsHello(99, "x"))
	early := dialOps(t, ts)
	early.send(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}})
	ok := dialOps(t, ts)
	ok.send(t, opsHello(netcode.ProtocolVersion, "ok"))
	ok.send(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: batch(1, []uint32{1, 2}, []uint32{0, 0})}})
	<-bad.conn.Done()
	<-early.conn.Done()
	require.Eventually(t, func() bool {
		return ok.seen(func(m *sessionpb.ServerMessage) bool { return m.GetWelcome() != nil })
	}, 2*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return ts.gw.Census()[metrics.TransportWS].Connections == 1 }, 2*time.Second, 5*time.Millisecond)

	reg := metrics.NewRegistry(metrics.Sources{Counters: counters, Census: ts.gw.Census})
	got := map[string]float64{}
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		for _, m := range f.Metric {
			key := f.GetName()
			for _, l := range m.Label {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			if m.Counter != nil {
				got[key] = m.Counter.GetValue()
			}
		}
	}
	assert.Equal(t, 1.0, got["arena_handshake_failures_total reason=protocol_version"])
	assert.Equal(t, 1.0, got["arena_handshake_failures_total reason=bad_hello"])
	assert.Equal(t, 2.0, got["arena_disconnects_total reason=protocol_error transport=ws"])
	assert.Equal(t, 2.0, got["arena_input_rejections_total reason=not_in_room"])
	assert.Equal(t, 3.0, got["arena_connections_opened_total transport=ws"])
}

func TestNotifyDrainingReachesClientsPastHello(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	a := dialOps(t, ts)
	a.send(t, opsHello(netcode.ProtocolVersion, "a"))
	silent := dialOps(t, ts) // no Hello yet: not told
	require.Eventually(t, func() bool {
		return a.seen(func(m *sessionpb.ServerMessage) bool { return m.GetWelcome() != nil })
	}, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, ts.gw.NotifyDraining(2500*time.Millisecond))
	require.Eventually(t, func() bool {
		return a.seen(func(m *sessionpb.ServerMessage) bool {
			return m.GetDraining().GetSecondsLeft() == 3 && m.RequestId == 0
		})
	}, 2*time.Second, 5*time.Millisecond, "seconds left, rounded up")
	assert.False(t, silent.seen(func(m *sessionpb.ServerMessage) bool { return m.GetDraining() != nil }))
	// A client that says Hello during the drain hears of it at once.
	silent.send(t, opsHello(netcode.ProtocolVersion, "late"))
	require.Eventually(t, func() bool {
		return silent.seen(func(m *sessionpb.ServerMessage) bool {
			d := m.GetDraining()
			return d != nil && d.SecondsLeft >= 2 && d.SecondsLeft <= 3
		})
	}, 2*time.Second, 5*time.Millisecond, "late client told after its Welcome")

	// Close says goodbye with an Error and close code 1001, going away.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ts.gw.Close(ctx))
	<-a.conn.Done()
	var ce *wsconn.CloseError
	require.ErrorAs(t, a.conn.Err(), &ce)
	assert.Equal(t, uint16(1001), ce.Code)
	assert.True(t, a.seen(func(m *sessionpb.ServerMessage) bool {
		return m.GetError().GetCode() == sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN
	}))
}

func TestResumesAndTokenFailuresAreCounted(t *testing.T) {
	counters := &metrics.Counters{}
	ts := startServer(t, room.Config{}, Config{Metrics: counters})
	first := dialOps(t, ts)
	first.send(t, opsHello(netcode.ProtocolVersion, "a"))
	var tok []byte
	require.Eventually(t, func() bool {
		first.mu.Lock()
		defer first.mu.Unlock()
		for _, m := range first.msgs {
			if w := m.GetWelcome(); w != nil {
				tok = w.ResumeToken
			}
		}
		return tok != nil
	}, 2*time.Second, 5*time.Millisecond)
	require.NoError(t, first.conn.Close())
	<-first.conn.Done()
	require.Eventually(t, func() bool { return ts.gw.Census()[metrics.TransportWS].HeldSessions == 1 }, 2*time.Second, 5*time.Millisecond)

	again := dialOps(t, ts)
	again.send(t, &sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, ResumeToken: tok}}})
	require.Eventually(t, func() bool {
		return again.seen(func(m *sessionpb.ServerMessage) bool { return m.GetWelcome().GetResumed() })
	}, 2*time.Second, 5*time.Millisecond)
	assert.Zero(t, ts.gw.Census()[metrics.TransportWS].HeldSessions)
	forged := dialOps(t, ts)
	forged.send(t, &sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, ResumeToken: []byte("forged")}}})
	<-forged.conn.Done()

	reg := metrics.NewRegistry(metrics.Sources{Counters: counters})
	fams, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.Metric {
			key := f.GetName()
			for _, l := range m.Label {
				key += " " + l.GetValue()
			}
			if m.Counter != nil {
				got[key] = m.Counter.GetValue()
			}
		}
	}
	assert.Equal(t, 2.0, got["arena_reconnects_total"])
	assert.Equal(t, 1.0, got["arena_resumes_total"])
	assert.Equal(t, 1.0, got["arena_auth_failures_total session_token"])
}

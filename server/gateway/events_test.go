package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/room"
)

// inbox records the events a client received, in order.
type inbox struct {
	mu  sync.Mutex
	got []string
}

func (b *inbox) handler(name string) client.EventHandler {
	return func(p []byte) ([]byte, error) {
		b.mu.Lock()
		b.got = append(b.got, name+":"+string(p))
		b.mu.Unlock()
		return nil, nil
	}
}

func (b *inbox) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

func playerNamed(t *testing.T, gw *Server, name string) *Player {
	t.Helper()
	for _, p := range gw.Players() {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("no player %q", name)
	return nil
}

// TestEventsAndAcksRoundTrip exercises events both ways, with and without
// acknowledgements, over each transport.
func TestEventsAndAcksRoundTrip(t *testing.T) {
	for _, transport := range []string{"ws", "poll"} {
		t.Run(transport, func(t *testing.T) {
			ts := startServer(t, room.Config{}, Config{})
			got := make(chan string, 100)
			ts.gw.Handle("echo", func(ev *Event) ([]byte, error) {
				got <- ev.From.Name() + ":" + string(ev.Payload)
				return append([]byte("re:"), ev.Payload...), nil
			})
			ts.gw.Handle("fails", func(*Event) ([]byte, error) { return nil, errors.New("no such thing") })
			var errs []*netcode.Error
			var errMu sync.Mutex
			c, err := client.Dial(context.Background(), client.Config{URL: ts.url, Name: "ev", Transport: transport,
				OnError: func(e *netcode.Error) { errMu.Lock(); errs = append(errs, e); errMu.Unlock() }})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			require.Equal(t, transport, c.Transport())
			ctx := context.Background()

			// Client to server, with a binary payload and an acknowledgement.
			reply, err := c.EmitAck(ctx, "echo", []byte{0, 1, 0xff})
			require.NoError(t, err)
			assert.Equal(t, []byte("re:\x00\x01\xff"), reply)
			assert.Equal(t, "ev:\x00\x01\xff", <-got)
			// Without one, in order.
			for i := range 20 {
				require.NoError(t, c.Emit("echo", []byte(fmt.Sprint(i))))
			}
			for i := range 20 {
				assert.Equal(t, fmt.Sprintf("ev:%d", i), <-got)
			}
			// Unknown names and failing handlers: a clear error, not a disconnect.
			_, err = c.EmitAck(ctx, "nope", nil)
			var pe *netcode.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, pe.Code)
			assert.Contains(t, pe.Message, `"nope"`)
			assert.False(t, pe.Fatal)
			_, err = c.EmitAck(ctx, "fails", nil)
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, pe.Code)
			assert.Contains(t, pe.Message, "no such thing")
			require.NoError(t, c.Emit("nope", nil))
			_, err = c.Ping(ctx)
			require.NoError(t, err, "the connection lives on")
			errMu.Lock()
			require.Len(t, errs, 1, "an unknown event without ack is reported as a pushed error")
			assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, errs[0].Code)
			errMu.Unlock()
			assert.Equal(t, uint64(2), ts.gw.Stats().UnknownEvents)

			// Server to client, with and without an acknowledgement.
			var in inbox
			c.On("note", in.handler("note"))
			c.On("ask", func(p []byte) ([]byte, error) { return append(p, '!'), nil })
			p := playerNamed(t, ts.gw, "ev")
			for i := range 20 {
				require.NoError(t, p.Emit("note", []byte(fmt.Sprint(i))))
			}
			answer, err := p.EmitAck(ctx, "ask", []byte("hi"))
			require.NoError(t, err)
			assert.Equal(t, []byte("hi!"), answer)
			want := make([]string, 20)
			for i := range want {
				want[i] = fmt.Sprintf("note:%d", i)
			}
			assert.Equal(t, want, in.list(), "events arrive in order, before the later ack")
			_, err = p.EmitAck(ctx, "unheard-of", nil)
			assert.ErrorContains(t, err, "unknown event")
		})
	}
}

// TestAckThatNeverComesTimesOut: both directions give up after their
// context's deadline.
func TestAckThatNeverComesTimesOut(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	release := make(chan struct{})
	ts.gw.Handle("slow", func(*Event) ([]byte, error) { <-release; return nil, nil })
	c := dialPlayer(t, ts, "waiter")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.conn.EmitAck(ctx, "slow", nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	close(release)

	// Server to client, on synctest's clock: a client that never answers.
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("mute")))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := playerNamed(t, gw, "mute").EmitAck(ctx, "ask", nil)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
		msgs, _ := a.recv()
		var ev *sessionpb.Event
		for _, m := range msgs {
			if m.GetEvent() != nil {
				ev = m.GetEvent()
			}
		}
		require.NotNil(t, ev, "the event was sent")
		assert.NotZero(t, ev.GetAckId())
	})
}

// TestBroadcastScopes: one player, a room, a room except the sender (chat),
// and everyone, each reach exactly who they should.
func TestBroadcastScopes(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	ctx := context.Background()
	names := []string{"a", "b", "c", "d"}
	conns := map[string]*client.Conn{}
	boxes := map[string]*inbox{}
	for _, n := range names {
		b := &inbox{}
		c, err := client.Dial(ctx, client.Config{URL: ts.url, Name: n})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		for _, ev := range []string{"chat", "news", "announce", "direct"} {
			if ev == "chat" {
				c.On(ev, func(p []byte) ([]byte, error) {
					var line sessionpb.ChatLine
					require.NoError(t, proto.Unmarshal(p, &line))
					return b.handler("chat")([]byte(line.GetName() + ">" + line.GetText()))
				})
				continue
			}
			c.On(ev, b.handler(ev))
		}
		conns[n], boxes[n] = c, b
	}
	r1, err := conns["a"].CreateRoom(ctx, 4)
	require.NoError(t, err)
	r2, err := conns["d"].CreateRoom(ctx, 4)
	require.NoError(t, err)
	for _, n := range []string{"a", "b", "c"} {
		_, err := conns[n].Join(ctx, r1.GetId(), n == "c") // c watches as a spectator
		require.NoError(t, err)
	}
	_, err = conns["d"].Join(ctx, r2.GetId(), false)
	require.NoError(t, err)

	// sync waits until every client has processed everything sent so far:
	// a reply comes after every earlier reliable frame.
	sync := func() {
		for _, c := range conns {
			_, err := c.Ping(ctx)
			require.NoError(t, err)
		}
	}

	// Chat: the room except the sender; the sender gets its line as the ack.
	ack, err := conns["a"].EmitAck(ctx, "chat", []byte("hello all"))
	require.NoError(t, err)
	var line sessionpb.ChatLine
	require.NoError(t, proto.Unmarshal(ack, &line))
	assert.Equal(t, "a", line.GetName())
	assert.Equal(t, "hello all", line.GetText())
	assert.NotZero(t, line.GetPlayerId())
	_, err = conns["d"].EmitAck(ctx, "chat", make([]byte, 201))
	assert.ErrorContains(t, err, "1..200 bytes")
	sync()
	assert.Empty(t, boxes["a"].list(), "not the sender")
	assert.Equal(t, []string{"chat:a>hello all"}, boxes["b"].list())
	assert.Equal(t, []string{"chat:a>hello all"}, boxes["c"].list(), "spectators read the chat")
	assert.Empty(t, boxes["d"].list(), "not another room")

	// A room, from server code.
	assert.Equal(t, 3, ts.gw.EmitRoom(r1.GetId(), "news", []byte("n1"), nil))
	// Everyone.
	assert.Equal(t, 4, ts.gw.EmitAll("announce", []byte("x")))
	// One player.
	require.NoError(t, playerNamed(t, ts.gw, "b").Emit("direct", []byte("psst")))
	sync()
	assert.Equal(t, []string{"news:n1", "announce:x"}, boxes["a"].list())
	assert.Equal(t, []string{"chat:a>hello all", "news:n1", "announce:x", "direct:psst"}, boxes["b"].list())
	assert.Equal(t, []string{"chat:a>hello all", "news:n1", "announce:x"}, boxes["c"].list())
	assert.Equal(t, []string{"announce:x"}, boxes["d"].list())
}

// TestHeartbeatsMeasureRTTAndFindDeadPeers: every connection gets
// heartbeats and a round-trip time; a peer silent for the timeout is cut
// (its session held), one silent for less is kept.
func TestHeartbeatsMeasureRTTAndFindDeadPeers(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Heartbeat: 50 * time.Millisecond, HeartbeatTimeout: 600 * time.Millisecond})
	for _, transport := range []string{"ws", "poll"} {
		c, err := client.Dial(context.Background(), client.Config{URL: ts.url, Name: "hb-" + transport, Transport: transport})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		require.Eventually(t, func() bool { return c.RTT() > 0 }, 2*time.Second, 10*time.Millisecond, transport)
		assert.Less(t, c.RTT(), time.Second, transport) // loopback: far less, unless the machine is very busy
	}
	st := ts.gw.Stats().RTT
	assert.Positive(t, st.Samples)
	assert.Positive(t, st.P50)

	// A raw WebSocket client that says Hello and then nothing, not even pongs.
	silent := rawClient(t, ts, true)
	start := time.Now()
	expectFatal(t, silent, sessionpb.ErrorCode_ERROR_CODE_TIMEOUT)
	assert.Less(t, time.Since(start), 2*time.Second, "found within the configured time")
	assert.Positive(t, ts.gw.Stats().HeartbeatTimeouts)
	require.Eventually(t, func() bool { return ts.gw.Stats().HeldSessions == 1 }, time.Second, 10*time.Millisecond, "its session is held, not ended")

	// A briefly slow client (silent for a third of the timeout) is kept.
	slow := rawClient(t, ts, true)
	for range 6 {
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, slow.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})))
	}
	_ = slow.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	for {
		m, err := slow.Read(50 * time.Millisecond)
		if err != nil {
			break // no close frame waiting: still open
		}
		require.NotEqual(t, byte(0x8), m.Opcode, "a briefly slow client must not be cut")
	}
}

package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
)

// testServer is a real gateway on a real loopback port.
type testServer struct {
	srv  *http.Server
	gw   *Server
	lob  *lobby.Lobby
	addr string
	url  string
}

func startServer(t *testing.T, roomCfg room.Config, cfg Config) *testServer {
	t.Helper()
	return startServerWith(t, lobby.Config{Room: roomCfg}, cfg)
}

// startServerWith is startServer with the lobby's settings too.
func startServerWith(t *testing.T, lobCfg lobby.Config, cfg Config) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lobCfg.Room.Logger = log
	lobCfg.Logger = log
	if lobCfg.Games == nil {
		lobCfg.Games = []*game.Def{arena.Def}
	}
	lob, err := lobby.New(lobCfg)
	require.NoError(t, err)
	cfg.Logger = log
	if cfg.TickRate == 0 {
		cfg.TickRate, cfg.SnapshotRate = 60, 30
	}
	gw := New(lob, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 5 * time.Second, ConnState: gw.ConnState}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = gw.Close(ctx)
		_ = lob.Close(ctx, nil)
	})
	addr := ln.Addr().String()
	return &testServer{gw: gw, lob: lob, addr: addr, url: "ws://" + addr + "/ws", srv: srv}
}

// player is a client that counts what it receives.
type player struct {
	conn      *client.Conn
	snapshots atomic.Int64
	mu        sync.Mutex
	last      *game.Table
	lastAck   uint32
	errs      []*netcode.Error
}

func dialPlayer(t *testing.T, ts *testServer, name string) *player {
	t.Helper()
	p := &player{}
	c, err := client.Dial(context.Background(), client.Config{
		URL: ts.url, Name: name,
		OnSnapshot: func(s *client.Snapshot) {
			p.snapshots.Add(1)
			p.mu.Lock()
			p.last = game.NewTable(s.State.Schema)
			p.last.CopyFrom(s.State)
			p.lastAck = s.InputAck
			p.mu.Unlock()
		},
		OnError: func(e *netcode.Error) {
			p.mu.Lock()
			p.errs = append(p.errs, e)
			p.mu.Unlock()
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	p.conn = c
	return p
}

func (p *player) state() (sim.State, uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := stateOf(p.last)
	return s, p.lastAck
}

// acker keeps a spectator-like player acknowledging snapshots so it gets
// deltas; it stops with the test.
func (p *player) ackLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		tk := time.NewTicker(30 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				_ = p.conn.Ack()
			}
		}
	}()
}

func TestLobbyRequests(t *testing.T) {
	ts := startServer(t, room.Config{Capacity: 2}, Config{})
	ctx := context.Background()
	a := dialPlayer(t, ts, "ana")
	assert.Equal(t, uint32(netcode.ProtocolVersion), a.conn.Welcome().GetProtocolVersion())
	assert.Equal(t, uint32(60), a.conn.Welcome().GetTickRate())

	rooms, err := a.conn.ListRooms(ctx)
	require.NoError(t, err)
	assert.Empty(t, rooms)

	created, err := a.conn.CreateRoom(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), created.GetCapacity())

	_, err = a.conn.CreateRoom(ctx, 1000)
	var pe *netcode.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_BAD_REQUEST, pe.Code)

	_, err = a.conn.Join(ctx, "nope", false)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, pe.Code)

	j, err := a.conn.Join(ctx, created.GetId(), false)
	require.NoError(t, err)
	assert.Equal(t, created.GetId(), j.GetRoom().GetId())
	assert.NotZero(t, j.GetPlayerId())
	assert.Equal(t, "arena", j.GetGame())
	assert.NotEmpty(t, j.GetDescribe())
	assert.NotNil(t, j.GetSchema())

	_, err = a.conn.Join(ctx, created.GetId(), false)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ALREADY_IN_ROOM, pe.Code)

	rooms, err = a.conn.ListRooms(ctx)
	require.NoError(t, err)
	require.Len(t, rooms, 1)
	assert.Equal(t, uint32(1), rooms[0].GetPlayers())

	require.NoError(t, a.conn.Leave(ctx))
	err = a.conn.Leave(ctx)
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_NOT_IN_ROOM, pe.Code)
	require.Eventually(t, func() bool { return ts.lob.List()[0].Players == 0 }, 2*time.Second, 10*time.Millisecond)
}

func TestQuickJoinFillsTheFullestRoom(t *testing.T) {
	ts := startServer(t, room.Config{Capacity: 3}, Config{})
	ctx := context.Background()
	var rooms []string
	for i := range 7 {
		p := dialPlayer(t, ts, "p")
		j, err := p.conn.Join(ctx, "", false)
		require.NoError(t, err, "player %d", i)
		rooms = append(rooms, j.GetRoom().GetId())
	}
	// 3 + 3 + 1: each room fills before a new one opens.
	assert.Equal(t, rooms[0], rooms[1])
	assert.Equal(t, rooms[0], rooms[2])
	assert.NotEqual(t, rooms[0], rooms[3])
	assert.Equal(t, rooms[3], rooms[5])
	assert.NotEqual(t, rooms[3], rooms[6])
	assert.Len(t, ts.lob.List(), 3)
}

func TestRoomFull(t *testing.T) {
	ts := startServer(t, room.Config{Capacity: 1}, Config{})
	ctx := context.Background()
	a, b := dialPlayer(t, ts, "a"), dialPlayer(t, ts, "b")
	j, err := a.conn.Join(ctx, "", false)
	require.NoError(t, err)
	_, err = b.conn.Join(ctx, j.GetRoom().GetId(), false)
	var pe *netcode.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ROOM_FULL, pe.Code)
	// Spectators do not take seats.
	_, err = b.conn.Join(ctx, j.GetRoom().GetId(), true)
	require.NoError(t, err)
}

// TestPlayerMovesAsInputsSay sends a scripted walk and checks the server
// put the player exactly where the game's movement rules say those inputs
// lead, and acknowledged every one of them.
func TestPlayerMovesAsInputsSay(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	p := dialPlayer(t, ts, "walker")
	j, err := p.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	cfg := rulesOf(j)
	id := sim.PlayerID(j.GetPlayerId())
	require.Eventually(t, func() bool { s, _ := p.state(); return s.Player(id) != nil }, 2*time.Second, 5*time.Millisecond)
	start, _ := p.state()
	self := *start.Player(id)

	script := []sim.Input{}
	for i := range 90 {
		b := sim.ButtonRight
		if self.X > cfg.Arena.Width/2 {
			b = sim.ButtonLeft
		}
		if i >= 45 {
			b |= sim.ButtonDown
			if self.Y > cfg.Arena.Height/2 {
				b ^= sim.ButtonDown | sim.ButtonUp
			}
		}
		script = append(script, sim.Input{Buttons: b, Aim: uint16(i * 7)})
	}
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	var lastSeq uint32
	for _, in := range script {
		<-tk.C
		lastSeq, err = send(p.conn, in)
		require.NoError(t, err)
	}
	// Idle inputs that repeat nothing move nobody... keep sending the last
	// one so the server's repeat of a missing input equals what we sent.
	require.Eventually(t, func() bool {
		_, ack := p.state()
		if ack < lastSeq {
			_, _ = send(p.conn, script[len(script)-1])
			return false
		}
		return true
	}, 3*time.Second, time.Second/60)

	want := self
	for _, in := range script {
		cfg.MovePlayer(&want, in)
	}
	got, ack := p.state()
	extra := ack - lastSeq // inputs applied after the script: all equal to its last
	for range extra {
		cfg.MovePlayer(&want, script[len(script)-1])
	}
	gp := got.Player(id)
	require.NotNil(t, gp)
	assert.Equal(t, want.X, gp.X, "x after %d inputs", ack)
	assert.Equal(t, want.Y, gp.Y, "y after %d inputs", ack)
	assert.Equal(t, want.Aim, gp.Aim)
	assert.NotEqual(t, self.X, gp.X, "the player moved")
}

// rawClient dials without the client package, says Hello and returns the
// connection.
func rawClient(t *testing.T, ts *testServer, hello bool) *wstest.Conn {
	t.Helper()
	c, err := wstest.Dial(ts.addr, "/ws")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if hello {
		require.NoError(t, c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{
			Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: "raw"}}})))
		m, err := c.Read(2 * time.Second)
		require.NoError(t, err)
		var sm sessionpb.ServerMessage
		require.NoError(t, proto.Unmarshal(m.Payload, &sm))
		require.NotNil(t, sm.GetWelcome())
	}
	return c
}

// expectFatal reads until the close frame and checks the error message and
// the close code that came before it.
func expectFatal(t *testing.T, c *wstest.Conn, code sessionpb.ErrorCode) {
	t.Helper()
	var got *sessionpb.Error
	closeMsg, err := c.ReadUntilClose(3*time.Second, func(m wstest.Message) {
		var sm sessionpb.ServerMessage
		if proto.Unmarshal(m.Payload, &sm) == nil && sm.GetError() != nil {
			got = sm.GetError()
		}
	})
	require.NoError(t, err)
	require.NotNil(t, got, "an Error message before the close")
	assert.Equal(t, code, got.GetCode())
	assert.True(t, got.GetFatal())
	assert.NotEmpty(t, got.GetMessage())
	assert.Equal(t, uint16(netcode.CloseCodeBase+int(code)), closeMsg.CloseCode())
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	honest := dialPlayer(t, ts, "honest")
	j, err := honest.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	honest.ackLoop(t)
	roomID := j.GetRoom().GetId()

	joinRaw := func(c *wstest.Conn) {
		require.NoError(t, c.Binary(netcode.Marshal(&sessionpb.ClientMessage{RequestId: 1,
			Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID}}})))
	}
	tests := []struct {
		name  string
		hello bool
		send  func(c *wstest.Conn) error
		want  sessionpb.ErrorCode
	}{
		{"malformed protobuf", true, func(c *wstest.Conn) error {
			joinRaw(c)
			return c.Binary([]byte{0xff, 0xff, 0xff})
		}, sessionpb.ErrorCode_ERROR_CODE_MALFORMED},
		{"unknown message", true, func(c *wstest.Conn) error {
			joinRaw(c)
			return c.Binary([]byte{0x72, 0x00}) // field 14: not in the schema
		}, sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE},
		{"wrong protocol version", false, func(c *wstest.Conn) error {
			return c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{
				Hello: &sessionpb.Hello{ProtocolVersion: 99}}}))
		}, sessionpb.ErrorCode_ERROR_CODE_PROTOCOL_VERSION},
		{"message before hello", false, func(c *wstest.Conn) error {
			return c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_ListRooms{}}))
		}, sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE},
		{"second hello", true, func(c *wstest.Conn) error {
			return c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{
				Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion}}}))
		}, sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE},
		{"oversized frame", true, func(c *wstest.Conn) error {
			joinRaw(c)
			return c.Binary(make([]byte, 5000))
		}, sessionpb.ErrorCode_ERROR_CODE_TOO_LARGE},
		{"text frame", true, func(c *wstest.Conn) error {
			return c.Write(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("hello")})
		}, sessionpb.ErrorCode_ERROR_CODE_MALFORMED},
		{"too many inputs in one batch", true, func(c *wstest.Conn) error {
			joinRaw(c)
			b := &sessionpb.InputBatch{FirstSeq: 1}
			for range maxInputsPerBatch + 1 {
				b.Inputs = append(b.Inputs, rawInput(1, 1))
			}
			return c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: b}}))
		}, sessionpb.ErrorCode_ERROR_CODE_MALFORMED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := honest.snapshots.Load()
			c := rawClient(t, ts, tc.hello)
			require.NoError(t, tc.send(c))
			expectFatal(t, c, tc.want)
			// The honest player keeps getting snapshots; the room lives.
			require.Eventually(t, func() bool { return honest.snapshots.Load() > before+5 }, 2*time.Second, 10*time.Millisecond)
			require.NotNil(t, ts.lob.Room(roomID))
		})
	}
	honest.mu.Lock()
	assert.Empty(t, honest.errs)
	honest.mu.Unlock()
}

func TestHugeFrameIsCutByTheTransport(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	c := rawClient(t, ts, true)
	require.NoError(t, c.Binary(make([]byte, 100_000)))
	m, err := c.ReadUntilClose(3*time.Second, nil)
	require.NoError(t, err)
	assert.Equal(t, uint16(1009), m.CloseCode())
}

// TestSlowReaderDoesNotSlowTheRoom joins a client that never reads a byte
// beside honest players: their snapshot rate holds, and what the server
// queues for the slow one stays bounded.
func TestSlowReaderDoesNotSlowTheRoom(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{WS: wsconn.ServerOptions{SendBuffer: 4096}})
	honest := []*player{dialPlayer(t, ts, "a"), dialPlayer(t, ts, "b")}
	j, err := honest[0].conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	_, err = honest[1].conn.Join(context.Background(), j.GetRoom().GetId(), false)
	require.NoError(t, err)
	for _, h := range honest {
		h.ackLoop(t)
	}

	slow, err := wstest.DialBuffer(ts.addr, "/ws", 2048)
	require.NoError(t, err)
	t.Cleanup(func() { _ = slow.Close() })
	require.NoError(t, slow.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{
		Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: "slow"}}})))
	require.NoError(t, slow.Binary(netcode.Marshal(&sessionpb.ClientMessage{RequestId: 1,
		Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: j.GetRoom().GetId()}}})))
	// Never read again, but keep the input stream alive so the slow client
	// is not cut for silence. It never acknowledges a snapshot, so it gets
	// full ones: its socket fills fast.
	stopInputs := make(chan struct{})
	go func() {
		seq := uint32(1)
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		for {
			select {
			case <-stopInputs:
				return
			case <-tk.C:
				_ = slow.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{
					Inputs: batch(seq, []uint32{uint32(sim.ButtonFire)}, []uint32{0})}}))
				seq++
			}
		}
	}()
	defer close(stopInputs)

	const window = 4 * time.Second
	r := ts.lob.Room(j.GetRoom().GetId())
	var slowPeer *session
	require.Eventually(t, func() bool { slowPeer = findSession(ts.gw, "slow"); return slowPeer != nil }, time.Second, 5*time.Millisecond)
	time.Sleep(time.Second) // let the slow socket fill
	before := []int64{honest[0].snapshots.Load(), honest[1].snapshots.Load()}
	tickBefore := r.Info().Tick
	start := time.Now()
	time.Sleep(window)
	ticks := r.Info().Tick - tickBefore
	secs := time.Since(start).Seconds()
	for i, h := range honest {
		// A snapshot every second tick, counted against the ticks the room
		// ran (a busy machine slows the room, not the ratio).
		share := float64(h.snapshots.Load()-before[i]) / (float64(ticks) / 2)
		assert.GreaterOrEqual(t, share, 0.9, "honest player %d: snapshots per snapshot tick", i)
	}
	// A room that waited on the slow reader would all but stop; a busy
	// machine only slows it a little.
	assert.Greater(t, float64(ticks)/secs, 40.0, "room tick rate")

	// The slow peer's outbox never held more than one snapshot plus its
	// bounded reliable queue: snapshots were skipped for it, not queued. Once
	// its socket stayed blocked past the write timeout, its connection was
	// cut (the session is held for a resume, with the same bounds).
	assert.Greater(t, slowPeer.out.Replaced(), uint64(10), "snapshots were skipped for the slow reader")
	assert.LessOrEqual(t, slowPeer.out.Pending(), 1+outbox.DefaultReliableLimit)
	require.Eventually(t, func() bool { return !slowPeer.attached() }, 5*time.Second, 50*time.Millisecond, "a stuck connection is cut")
}

// findSession returns the live session that said Hello with name.
func findSession(gw *Server, name string) *session {
	for _, p := range gw.liveSessions() {
		if n := p.display.Load(); n != nil && *n == name {
			return p
		}
	}
	return nil
}

func TestSilentPeerTimesOutButPongsKeepItAlive(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{WS: wsconn.ServerOptions{
		ReadTimeout: 600 * time.Millisecond, PingInterval: 200 * time.Millisecond}})
	// The library client answers pings, so silence in the lobby is fine.
	alive := dialPlayer(t, ts, "quiet")
	// The raw client answers nothing.
	silent := rawClient(t, ts, true)
	expectFatal(t, silent, sessionpb.ErrorCode_ERROR_CODE_TIMEOUT)
	time.Sleep(time.Second)
	_, err := alive.conn.ListRooms(context.Background())
	assert.NoError(t, err, "a peer that answers pings is kept")
}

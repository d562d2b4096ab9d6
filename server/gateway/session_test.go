package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
)

// pipe is a transport without a network: the test writes frames with send
// and reads what the server queued with recv.
type pipe struct {
	t     *testing.T
	c     *conn
	batch outbox.Batch
}

func newPipe(t *testing.T, gw *Server) *pipe { return &pipe{t: t, c: gw.newConn("test", "pipe")} }

func (p *pipe) send(m *sessionpb.ClientMessage) error { return p.c.Frame(netcode.Marshal(m)) }

// recv takes what the link holds and decodes it; closed reports whether the
// link's transport would close after writing it.
func (p *pipe) recv() (msgs []*sessionpb.ServerMessage, closed bool) {
	closed = p.c.link.Take(&p.batch)
	for _, f := range p.batch.Frames {
		m := &sessionpb.ServerMessage{}
		require.NoError(p.t, proto.Unmarshal(f, m))
		msgs = append(msgs, m)
	}
	return msgs, closed
}

func hello(name string) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: name}}}
}

func resumeHello(tok []byte, lastSeq, lastTick uint32) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{
		ProtocolVersion: netcode.ProtocolVersion, ResumeToken: tok, LastSeq: lastSeq, LastTick: lastTick}}}
}

func newTestGateway(t testing.TB, cfg Config) (*Server, *lobby.Lobby) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lob, err := lobby.New(lobby.Config{Games: []*game.Def{arena.Def}, Room: room.Config{Logger: log, EmptyGrace: time.Hour}, Logger: log})
	require.NoError(t, err)
	cfg.Logger = log
	cfg.TickRate, cfg.SnapshotRate = 60, 30
	return New(lob, cfg), lob
}

func welcomeOf(t *testing.T, msgs []*sessionpb.ServerMessage) *sessionpb.Welcome {
	t.Helper()
	require.NotEmpty(t, msgs)
	w := msgs[0].GetWelcome()
	require.NotNil(t, w, "the first frame is the Welcome, got %v", msgs[0])
	return w
}

func errorOf(t *testing.T, msgs []*sessionpb.ServerMessage) *sessionpb.Error {
	t.Helper()
	for _, m := range msgs {
		if e := m.GetError(); e != nil {
			return e
		}
	}
	t.Fatalf("no Error among %v", msgs)
	return nil
}

// TestHoldWindow runs the hold timer on synctest's clock: a session whose
// connection is lost keeps its seat for exactly the window, resumes within
// it, and after it the seat is freed and a resume is told why.
func TestHoldWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{Hold: 30 * time.Second})
		defer func() { _ = lob.Close(context.Background(), nil) }()

		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("ana")))
		msgs, _ := a.recv()
		w := welcomeOf(t, msgs)
		assert.False(t, w.GetResumed())
		assert.Equal(t, uint32(30000), w.GetHoldMs())
		require.NoError(t, a.send(&sessionpb.ClientMessage{Seq: 1, RequestId: 2, Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{}}}))
		synctest.Wait()
		msgs, _ = a.recv()
		require.NotEmpty(t, msgs)
		joined := msgs[0].GetJoined()
		require.NotNil(t, joined)
		assert.Equal(t, uint32(1), msgs[0].GetSeq(), "reliable frames are numbered from 1")
		r := lob.Room(joined.GetRoom().GetId())

		// The connection dies; the session is held with its seat.
		a.c.Closed(nil)
		time.Sleep(29 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, r.Info().Players, "seat held inside the window")
		assert.Equal(t, int64(1), gw.Stats().HeldSessions)

		b := newPipe(t, gw)
		require.NoError(t, b.send(resumeHello(w.GetResumeToken(), 0, 0)))
		msgs, closed := b.recv()
		require.False(t, closed)
		w2 := welcomeOf(t, msgs)
		assert.True(t, w2.GetResumed())
		assert.Equal(t, w.GetSessionId(), w2.GetSessionId())
		assert.NotEqual(t, w.GetResumeToken(), w2.GetResumeToken(), "every resume issues a new token")
		// Everything not acknowledged (last_seq 0) is replayed once: the Joined first.
		require.Greater(t, len(msgs), 1)
		assert.NotNil(t, msgs[1].GetJoined())
		assert.Equal(t, uint32(1), msgs[1].GetSeq())
		assert.Equal(t, uint64(1), gw.Stats().Resumes)

		// Lost again, and this time nobody comes back.
		b.c.Closed(nil)
		time.Sleep(30*time.Second + time.Millisecond)
		synctest.Wait()
		assert.Equal(t, uint64(1), gw.Stats().HoldExpired)
		time.Sleep(50 * time.Millisecond) // the room frees the seat at its next tick
		assert.Equal(t, 0, r.Info().Players, "seat freed after the window")
		assert.Equal(t, uint64(1), gw.Stats().HoldExpired)
		assert.Zero(t, gw.Stats().Sessions)

		c := newPipe(t, gw)
		require.ErrorContains(t, c.send(resumeHello(w2.GetResumeToken(), 0, 0)), "30s")
		msgs, closed = c.recv()
		assert.True(t, closed)
		e := errorOf(t, msgs)
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED, e.GetCode())
		assert.Contains(t, e.GetMessage(), "not resumed within 30s")
		assert.True(t, e.GetFatal())
	})
}

// TestTokensAreSignedExpiringAndSingleUse refuses a forged, an expired and a
// reused token, each with its own clear error.
func TestTokensAreSignedExpiringAndSingleUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{TokenTTL: time.Minute, Hold: time.Hour})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		refused := func(tok []byte, code sessionpb.ErrorCode, text string) {
			t.Helper()
			p := newPipe(t, gw)
			require.Error(t, p.send(resumeHello(tok, 0, 0)))
			msgs, closed := p.recv()
			assert.True(t, closed)
			e := errorOf(t, msgs)
			assert.Equal(t, code, e.GetCode())
			assert.Contains(t, e.GetMessage(), text)
		}

		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("ana")))
		msgs, _ := a.recv()
		tok := welcomeOf(t, msgs).GetResumeToken()
		a.c.Closed(nil)

		forged := append([]byte(nil), tok...)
		forged[5] ^= 0x40 // another session id, with the old signature
		refused(forged, sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, "not valid")
		refused([]byte("let me in"), sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, "not valid")
		other, _ := newTestGateway(t, Config{}) // another secret signs another token
		o := newPipe(t, other)
		require.NoError(t, o.send(hello("eve")))
		msgs, _ = o.recv()
		refused(welcomeOf(t, msgs).GetResumeToken(), sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, "not valid")

		// The genuine token resumes once ...
		b := newPipe(t, gw)
		require.NoError(t, b.send(resumeHello(tok, 0, 0)))
		msgs, _ = b.recv()
		tok2 := welcomeOf(t, msgs).GetResumeToken()
		require.NoError(t, b.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}}))
		// ... and never again.
		refused(tok, sessionpb.ErrorCode_ERROR_CODE_TOKEN_USED, "already used")

		// A token outlives neither its TTL nor the session.
		b.c.Closed(nil)
		time.Sleep(time.Minute)
		refused(tok2, sessionpb.ErrorCode_ERROR_CODE_TOKEN_EXPIRED, "expired")
		assert.Equal(t, uint64(5), gw.Stats().ResumeFailures)
	})
}

// TestUnconfirmedResumeMayBeRetried covers a resume whose Welcome was lost
// with its connection: the same token works once more, because the client
// never received the new one.
func TestUnconfirmedResumeMayBeRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("ana")))
		msgs, _ := a.recv()
		tok := welcomeOf(t, msgs).GetResumeToken()
		a.c.Closed(nil)

		b := newPipe(t, gw)
		require.NoError(t, b.send(resumeHello(tok, 0, 0)))
		b.c.Closed(nil) // lost before the client saw the Welcome or sent anything

		c := newPipe(t, gw)
		require.NoError(t, c.send(resumeHello(tok, 0, 0)))
		msgs, _ = c.recv()
		assert.True(t, welcomeOf(t, msgs).GetResumed())
	})
}

// TestTakeoverClosesTheOldConnection resumes a session while its first
// connection still looks alive (a half-open socket): the old one is told
// why and closed, and its late frames are not processed.
func TestTakeoverClosesTheOldConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("ana")))
		msgs, _ := a.recv()
		tok := welcomeOf(t, msgs).GetResumeToken()

		b := newPipe(t, gw)
		require.NoError(t, b.send(resumeHello(tok, 0, 0)))
		msgs, closed := a.recv()
		assert.True(t, closed)
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED, errorOf(t, msgs).GetCode())
		assert.Error(t, a.send(&sessionpb.ClientMessage{Seq: 1, RequestId: 5, Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}}))
		msgs, _ = b.recv()
		welcomeOf(t, msgs)
		for _, m := range msgs {
			assert.Nil(t, m.GetRoomList(), "the old connection's request was not handled")
		}
	})
}

// TestReliableLogOverflowWhileHeldEndsTheSession bounds what a held
// session keeps: past the limit it ends with a reason instead of growing.
func TestReliableLogOverflowWhileHeldEndsTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{ReliableQueue: 4})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("ana")))
		msgs, _ := a.recv()
		tok := welcomeOf(t, msgs).GetResumeToken()
		a.c.Closed(nil)
		s := gw.liveSessions()[0]
		for i := range 5 {
			err := s.push(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Pong{Pong: &sessionpb.Pong{Time: uint64(i)}}})
			if i < 4 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		}
		p := newPipe(t, gw)
		require.Error(t, p.send(resumeHello(tok, 0, 0)))
		msgs, _ = p.recv()
		e := errorOf(t, msgs)
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED, e.GetCode())
		assert.Contains(t, e.GetMessage(), "too many unacknowledged")
	})
}

// lastState decodes the newest (full) snapshot among msgs.
func lastState(t *testing.T, msgs []*sessionpb.ServerMessage) (*sim.State, uint32) {
	t.Helper()
	for i := len(msgs) - 1; i >= 0; i-- {
		if s := msgs[i].GetSnapshot(); s != nil {
			require.Zero(t, s.GetBaselineAge(), "this test never acknowledges, so snapshots are full")
			tab := game.NewTable(arena.Schema)
			var dec netcode.Decoder
			require.NoError(t, dec.Decode(tab, nil, arena.Schema, s.GetTick(), s.GetState()))
			st := stateOf(tab)
			return &st, s.GetInputAck()
		}
	}
	t.Fatal("no snapshot")
	return nil, 0
}

func inputs(first uint32, b sim.Buttons, n int) *sessionpb.ClientMessage {
	ib := &sessionpb.InputBatch{FirstSeq: first}
	for range n {
		ib.Inputs = append(ib.Inputs, arena.AppendInput(nil, b, 5))
	}
	return &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: ib}}
}

// TestInputsAcrossAResumeAreAppliedOnce checks the input arithmetic of a
// resume on synctest's clock, where every input reaches its tick: inputs
// acknowledged before the cut are all applied (none lost), resending them
// after the resume changes nothing (none applied twice), and the numbering
// goes on from the server's input ack.
func TestInputsAcrossAResumeAreAppliedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw, lob := newTestGateway(t, Config{})
		defer func() { _ = lob.Close(context.Background(), nil) }()
		a := newPipe(t, gw)
		require.NoError(t, a.send(hello("walker")))
		msgs, _ := a.recv()
		tok := welcomeOf(t, msgs).GetResumeToken()
		require.NoError(t, a.send(&sessionpb.ClientMessage{Seq: 1, RequestId: 2, Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{}}}))
		time.Sleep(100 * time.Millisecond)
		msgs, _ = a.recv()
		j := msgs[0].GetJoined()
		require.NotNil(t, j)
		id := sim.PlayerID(j.GetPlayerId())
		cfg := rulesOf(j)
		st, _ := lastState(t, msgs)
		want := *st.Player(id)
		step := func(c *pipe, seq uint32, b sim.Buttons) {
			require.NoError(t, c.send(inputs(seq, b, 1)))
			time.Sleep(time.Second / 60)
		}
		walk := sim.ButtonRight
		if want.X > cfg.Arena.Width/2 {
			walk = sim.ButtonLeft
		}
		for seq := uint32(1); seq <= 20; seq++ {
			step(a, seq, walk)
			cfg.MovePlayer(&want, sim.Input{Buttons: walk, Aim: 5})
		}
		for seq := uint32(21); seq <= 28; seq++ {
			step(a, seq, 0)
			cfg.MovePlayer(&want, sim.Input{Aim: 5})
		}
		time.Sleep(100 * time.Millisecond)
		msgs, _ = a.recv()
		st, ack := lastState(t, msgs)
		require.GreaterOrEqual(t, ack, uint32(28))
		assert.Equal(t, want.X, st.Player(id).X, "every acknowledged input applied once before the cut")
		lastSeq := msgs[len(msgs)-1].GetSeq()
		for _, m := range msgs {
			lastSeq = max(lastSeq, m.GetSeq())
		}

		a.c.Closed(nil)
		time.Sleep(time.Second) // no input arrives: the player stands still
		b := newPipe(t, gw)
		require.NoError(t, b.send(resumeHello(tok, lastSeq, 0)))
		// A client that did not see the acks resends everything: ignored.
		require.NoError(t, b.send(inputs(1, walk, 28)))
		for range 10 {
			require.NoError(t, b.send(inputs(13, walk, 16)))
			time.Sleep(time.Second / 60)
		}
		time.Sleep(100 * time.Millisecond)
		msgs, _ = b.recv()
		st, ack = lastState(t, msgs)
		assert.Equal(t, want.X, st.Player(id).X, "nothing applied twice after the resume")
		assert.Equal(t, want.Y, st.Player(id).Y)
		assert.Equal(t, uint32(28), ack, "no input arrived while held: none invented, no number used up")

		for seq := ack + 1; seq <= ack+10; seq++ {
			step(b, seq, walk)
			cfg.MovePlayer(&want, sim.Input{Buttons: walk, Aim: 5})
		}
		step(b, ack+11, 0)
		time.Sleep(100 * time.Millisecond)
		msgs, _ = b.recv()
		st, _ = lastState(t, msgs)
		assert.Equal(t, want.X, st.Player(id).X, "new inputs after the resume apply as usual")
	})
}

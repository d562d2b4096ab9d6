package gateway

// The attacks of issue 13, one test each, against a real gateway on
// loopback: attackers come from addresses of their own (127.0.0.2, ...,
// every 127.x.y.z is loopback), and in the same run honest players keep
// playing (their snapshots are counted by tick, not by wall time) and
// honest newcomers, each from an address of its own, keep being admitted.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/pollconn"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/room"
	"github.com/arenaserver/arena/server/token"
)

// attackerIP is the n-th attacking address: 127.0.0.2, 127.0.0.3, ...
func attackerIP(n int) string { return fmt.Sprintf("127.0.0.%d", 2+n) }

// newcomerIP is the n-th honest newcomer's address: 127.0.1.1, ...
func newcomerIP(n int) string { return fmt.Sprintf("127.0.%d.%d", 1+n/250, 1+n%250) }

// dialerFrom dials from ip.
func dialerFrom(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return d.DialContext
}

// quickRooms closes empty rooms after half a second, so the rooms honest
// newcomers open and leave do not pile up.
func quickRooms() room.Config { return room.Config{EmptyGrace: 500 * time.Millisecond} }

// roomsLobby is a lobby of quick rooms hosting at most maxRooms.
func roomsLobby(maxRooms int) lobby.Config {
	return lobby.Config{Room: quickRooms(), MaxRooms: maxRooms}
}

// honestSide is what honest people do during an attack: three players in
// a room of their own, playing at 60 Hz from 127.0.0.1, and a newcomer
// every 100 ms, each from an address of its own, who says Hello, creates
// a room, joins it and says goodbye.
type honestSide struct {
	t        *testing.T
	ts       *testServer
	players  []*honestBot
	roomID   string
	fromTick uint32

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	attempts atomic.Int64
	admitted atomic.Int64
	mu       sync.Mutex
	refusals []string
}

func startHonestSide(t *testing.T, ts *testServer) *honestSide {
	t.Helper()
	h := &honestSide{t: t, ts: ts}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	first := startHonest(t, ctx, &h.wg, ts, "h0", "", 1)
	h.players = append(h.players, first)
	h.roomID = first.roomID
	for i := 1; i < 3; i++ {
		h.players = append(h.players, startHonest(t, ctx, &h.wg, ts, fmt.Sprintf("h%d", i), first.roomID, uint64(i+1)))
	}
	require.Eventually(t, func() bool { return ts.lob.Room(h.roomID).Info().Tick > 10 }, 2*time.Second, time.Millisecond)
	h.fromTick = ts.lob.Room(h.roomID).Info().Tick
	h.wg.Go(func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			h.attempts.Add(1)
			nctx, ncancel := context.WithTimeout(context.Background(), 10*time.Second) // a newcomer under way finishes
			err := h.newcomer(nctx, n)
			ncancel()
			if err != nil {
				h.mu.Lock()
				h.refusals = append(h.refusals, err.Error())
				h.mu.Unlock()
				continue
			}
			h.admitted.Add(1)
		}
	})
	return h
}

// newcomer is one honest stranger: Hello, a room of its own, a seat in it,
// Bye.
func (h *honestSide) newcomer(ctx context.Context, n int) error {
	ip := newcomerIP(n)
	c, err := client.Dial(ctx, client.Config{URL: h.ts.url, Name: fmt.Sprintf("new%d", n), Transport: "ws",
		Dial: wsconn.DialOptions{DialContext: dialerFrom(ip)}, Reconnect: client.Backoff{Disabled: true}})
	if err != nil {
		return fmt.Errorf("%s: hello: %w", ip, err)
	}
	defer c.Close()
	created, err := c.CreateRoom(ctx, 2)
	if err != nil {
		return fmt.Errorf("%s: create: %w", ip, err)
	}
	if _, err := c.Join(ctx, created.GetId(), false); err != nil {
		return fmt.Errorf("%s: join: %w", ip, err)
	}
	return nil
}

// check stops the honest side and asserts what it must have had: every
// newcomer admitted (and at least a few tried), every player every
// snapshot of the window, by tick (but for 1%, or two, that a loaded
// machine may drop to latest-wins), and no error.
func (h *honestSide) check() {
	t := h.t
	t.Helper()
	// A window long enough to count: a second of play, five newcomers.
	r := h.ts.lob.Room(h.roomID)
	require.Eventually(t, func() bool { return h.attempts.Load() >= 5 && r.Info().Tick >= h.fromTick+60 }, 10*time.Second, 10*time.Millisecond)
	toTick := r.Info().Tick - 10 // snapshots still in flight are not counted
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.GreaterOrEqual(t, h.attempts.Load(), int64(5), "newcomers tried")
	assert.Equal(t, h.attempts.Load(), h.admitted.Load(), "every honest newcomer admitted; refused: %v", h.refusals)
	for _, b := range h.players {
		got, want := b.delivered(h.fromTick, toTick, 60, 30)
		require.Positive(t, want)
		// Every snapshot of the window, but for a loaded machine's latest-wins
		// (a reader late by a snapshot interval loses the older one): 1%,
		// and never less than two in a short window.
		assert.GreaterOrEqual(t, got, want-max(2, want/100), "honest player in %s: %d of %d snapshots (ticks %d..%d)",
			b.roomID, got, want, h.fromTick, toTick)
		b.mu.Lock()
		assert.Empty(t, b.errs, "honest players get no error")
		b.mu.Unlock()
	}
	t.Logf("honest: %d of %d newcomers admitted; players kept ticks %d..%d", h.admitted.Load(), h.attempts.Load(), h.fromTick, toTick)
}

// rawPeer is an attacker's raw WebSocket client: it numbers its reliable
// requests and never acknowledges anything unless told to.
type rawPeer struct {
	c   *wstest.Conn
	seq uint32
}

func dialRaw(ip, addr string) (*rawPeer, error) {
	c, err := wstest.DialFrom(ip, addr, "/ws")
	if err != nil {
		return nil, err
	}
	return &rawPeer{c: c}, nil
}

func (p *rawPeer) close() { p.c.Close() }

// send writes m; a request (a body that has replies) gets the next seq and
// a request id equal to it.
func (p *rawPeer) send(m *sessionpb.ClientMessage) error {
	switch m.Body.(type) {
	case *sessionpb.ClientMessage_ListRooms, *sessionpb.ClientMessage_CreateRoom, *sessionpb.ClientMessage_JoinRoom,
		*sessionpb.ClientMessage_LeaveRoom, *sessionpb.ClientMessage_Ping, *sessionpb.ClientMessage_Event:
		p.seq++
		m.Seq, m.RequestId = p.seq, p.seq
	}
	return p.c.Binary(netcode.Marshal(m))
}

// read reads the next server message (a close frame is errClosedBy).
func (p *rawPeer) read(timeout time.Duration) (*sessionpb.ServerMessage, error) {
	for {
		m, err := p.c.Read(timeout)
		if err != nil {
			return nil, err
		}
		switch m.Opcode {
		case wstest.OpClose:
			return nil, closedBy{m.CloseCode()}
		case wstest.OpBinary:
			var sm sessionpb.ServerMessage
			if err := proto.Unmarshal(m.Payload, &sm); err != nil {
				return nil, err
			}
			return &sm, nil
		}
	}
}

type closedBy struct{ code uint16 }

func (c closedBy) Error() string { return fmt.Sprintf("closed with %d", c.code) }

// until reads until match accepts a message (or an error).
func (p *rawPeer) until(timeout time.Duration, match func(*sessionpb.ServerMessage) bool) (*sessionpb.ServerMessage, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := p.read(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if match(m) {
			return m, nil
		}
	}
}

// hello says Hello (with a resume token when tok is not nil) and returns
// the Welcome, or the error the server answered.
func (p *rawPeer) hello(name string, tok []byte) (*sessionpb.Welcome, error) {
	if err := p.c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{
		ProtocolVersion: netcode.ProtocolVersion, Name: name, ResumeToken: tok}}})); err != nil {
		return nil, err
	}
	m, err := p.until(5*time.Second, func(m *sessionpb.ServerMessage) bool { return m.GetWelcome() != nil || m.GetError() != nil })
	if err != nil {
		return nil, err
	}
	if e := m.GetError(); e != nil {
		return nil, &netcode.Error{Code: e.GetCode(), Message: e.GetMessage(), Fatal: e.GetFatal()}
	}
	return m.GetWelcome(), nil
}

// request sends a request and returns its reply (or the error replied).
func (p *rawPeer) request(m *sessionpb.ClientMessage) (*sessionpb.ServerMessage, error) {
	if err := p.send(m); err != nil {
		return nil, err
	}
	rid := m.RequestId
	r, err := p.until(5*time.Second, func(r *sessionpb.ServerMessage) bool { return r.RequestId == rid })
	if err != nil {
		return nil, err
	}
	if e := r.GetError(); e != nil {
		return r, &netcode.Error{Code: e.GetCode(), Message: e.GetMessage(), Fatal: e.GetFatal()}
	}
	return r, nil
}

func createRoom(capacity uint32) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: capacity}}}
}

func joinRoom(id string, spectate bool) *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: id, Spectate: spectate}}}
}

func leaveRoom() *sessionpb.ClientMessage {
	return &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}}
}

func errCode(err error) sessionpb.ErrorCode {
	var pe *netcode.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}

// forAttackers runs attack once per worker, workers per address, from
// addresses 127.0.0.2 .. 127.0.0.(1+addrs), until stop.
func forAttackers(addrs, workers int, stop <-chan struct{}, attack func(ip string, stop <-chan struct{})) *sync.WaitGroup {
	var wg sync.WaitGroup
	for a := range addrs {
		for range workers {
			wg.Go(func() { attack(attackerIP(a), stop) })
		}
	}
	return &wg
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// endReason is the error code a session ended with (0 while it lives),
// for a client whose connection was reset before it read the close.
func endReason(t *testing.T, ts *testServer, w *sessionpb.Welcome) sessionpb.ErrorCode {
	t.Helper()
	var id token.SessionID
	b, err := hex.DecodeString(w.GetSessionId())
	require.NoError(t, err)
	copy(id[:], b)
	var why string
	require.Eventually(t, func() bool {
		p, gone := ts.gw.lookup(id)
		why = gone.why
		return p == nil
	}, 5*time.Second, 5*time.Millisecond, "the session ended")
	code, _, _ := strings.Cut(why, ":")
	return sessionpb.ErrorCode(sessionpb.ErrorCode_value[code])
}

// TestRoomSquattingIsBounded (issue 13, item 1): attackers open rooms of
// capacity 1, sit in them, drop their connections (the sessions are held,
// and resumed now and then to renew the hold), as fast as they can, from
// one address and from sixteen. Each address keeps at most its room
// budget; the server never fills, and honest strangers keep creating
// and joining rooms.
func TestRoomSquattingIsBounded(t *testing.T) {
	for _, addrs := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d addresses", addrs), func(t *testing.T) {
			ts := startServerWith(t, roomsLobby(100), Config{Hold: time.Minute})
			h := startHonestSide(t, ts)
			stop := make(chan struct{})
			var created, refused atomic.Int64
			wg := forAttackers(addrs, 4, stop, func(ip string, stop <-chan struct{}) {
				var tokens [][]byte
				for i := 0; !stopped(stop); i++ {
					p, err := dialRaw(ip, ts.addr)
					if err != nil {
						continue
					}
					if i%2 == 1 && len(tokens) > 0 {
						// Renew a hold: resume, then drop again.
						if w, err := p.hello("squat", tokens[0]); err == nil {
							tokens[0] = w.GetResumeToken()
						}
						p.close()
						continue
					}
					w, err := p.hello("squat", nil)
					if err != nil {
						refused.Add(1)
						p.close()
						continue
					}
					r, err := p.request(createRoom(1))
					if err != nil {
						refused.Add(1)
						p.close()
						continue
					}
					created.Add(1)
					_, _ = p.request(joinRoom(r.GetRoomCreated().GetRoom().GetId(), false))
					tokens = append(tokens, w.GetResumeToken())
					p.close() // held: the seat stays taken
				}
			})
			time.Sleep(3 * time.Second)
			close(stop)
			wg.Wait()
			for a := range addrs {
				assert.LessOrEqual(t, ts.lob.Owned(attackerIP(a)), 4, "rooms open for %s", attackerIP(a))
			}
			assert.Less(t, len(ts.lob.List()), 100, "the server never filled")
			assert.Positive(t, refused.Load(), "attackers were refused")
			t.Logf("attack from %d addresses: %d rooms created, %d refusals, %d rooms open", addrs, created.Load(), refused.Load(), len(ts.lob.List()))
			h.check()
		})
	}
}

// TestSessionSquattingIsBounded (issue 13, item 2): attackers open
// sessions and drop their connections (held sessions), sixteen at a time
// per address, from one address and from sixteen. Each address holds at
// most its session budget; honest newcomers keep saying Hello.
func TestSessionSquattingIsBounded(t *testing.T) {
	for _, addrs := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d addresses", addrs), func(t *testing.T) {
			ts := startServer(t, quickRooms(), Config{Hold: time.Minute,
				Limits: Limits{MaxSessions: 400, MaxSessionsPerIP: 16}})
			h := startHonestSide(t, ts)
			stop := make(chan struct{})
			var opened, overBudget atomic.Int64
			wg := forAttackers(addrs, 16, stop, func(ip string, stop <-chan struct{}) {
				for !stopped(stop) {
					p, err := dialRaw(ip, ts.addr)
					if err != nil {
						continue
					}
					_, err = p.hello("squat", nil)
					p.close()
					switch {
					case err == nil:
						opened.Add(1)
					case errCode(err) == sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET:
						overBudget.Add(1)
					}
				}
			})
			time.Sleep(2 * time.Second)
			close(stop)
			wg.Wait()
			for a := range addrs {
				assert.LessOrEqual(t, ts.gw.SessionsFrom(attackerIP(a)), 16, "sessions held for %s", attackerIP(a))
			}
			assert.Positive(t, overBudget.Load(), "Hellos past the budget are told OVER_BUDGET")
			t.Logf("attack from %d addresses: %d sessions opened, %d refused; %d live", addrs, opened.Load(), overBudget.Load(), ts.gw.Stats().Sessions)
			h.check()
		})
	}
}

// TestHeldSeatOutlivesItsRoom (issue 13, item 3): a player loses its
// connection (its session is held) while a stranger joins and leaves its
// room over and over and a room-mate chats at 18 lines a second. The held
// session's backlog is compacted, never overflows: it resumes with its
// seat, and no error follows the Welcome.
func TestHeldSeatOutlivesItsRoom(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{ReliableQueue: 32, Hold: time.Minute,
		Limits: Limits{LobbyRate: 50, LobbyBurst: 50}})
	h := startHonestSide(t, ts)

	victim, err := dialRaw("127.0.0.1", ts.addr)
	require.NoError(t, err)
	w, err := victim.hello("victim", nil)
	require.NoError(t, err)
	j, err := victim.request(joinRoom(h.roomID, false))
	require.NoError(t, err)
	seatID := j.GetJoined().GetPlayerId()
	victim.close() // held from here

	stop := make(chan struct{})
	wg := forAttackers(1, 1, stop, func(ip string, stop <-chan struct{}) {
		p, err := dialRaw(ip, ts.addr)
		if err != nil {
			return
		}
		defer p.close()
		if _, err := p.hello("stranger", nil); err != nil {
			return
		}
		for i := 0; !stopped(stop); i++ {
			if _, err := p.request(joinRoom(h.roomID, i%2 == 0)); err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			_, _ = p.request(leaveRoom())
			if i%64 == 63 {
				_ = p.send(&sessionpb.ClientMessage{AckSeq: 1 << 30, Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})
			}
		}
	})
	chat := h.players[0].conn
	tk := time.NewTicker(time.Second / 18)
	for range 54 { // three seconds of chat
		<-tk.C
		require.NoError(t, chat.Emit(room.ChatEvent, []byte("gg")))
	}
	tk.Stop()
	close(stop)
	wg.Wait()

	back, err := dialRaw("127.0.0.1", ts.addr)
	require.NoError(t, err)
	defer back.close()
	w2, err := back.hello("", w.GetResumeToken())
	require.NoError(t, err, "the held session resumes")
	assert.True(t, w2.GetResumed())
	snap, err := back.until(3*time.Second, func(m *sessionpb.ServerMessage) bool {
		if e := m.GetError(); e != nil {
			t.Errorf("an error after the Welcome: %v", e)
		}
		return m.GetSnapshot() != nil
	})
	require.NoError(t, err)
	tab := game.NewTable(arena.Schema)
	var dec netcode.Decoder
	require.NoError(t, dec.Decode(tab, nil, arena.Schema, snap.GetSnapshot().GetTick(), snap.GetSnapshot().GetState()))
	assert.NotNil(t, tab.Get(arena.KindPlayer, seatID), "the seat is still the victim's")
	h.check()
}

// TestRosterChurnCostsAtMostOneFramePerTick (issue 13, item 4): sixteen
// strangers, from sixteen addresses, join and leave a room as spectators
// and as players as fast as they may. A member of that room gets at most
// one roster a tick, and its snapshots all the same.
func TestRosterChurnCostsAtMostOneFramePerTick(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{})
	h := startHonestSide(t, ts)
	obs, err := dialRaw("127.0.0.1", ts.addr)
	require.NoError(t, err)
	defer obs.close()
	_, err = obs.hello("observer", nil)
	require.NoError(t, err)
	_, err = obs.request(joinRoom(h.roomID, true))
	require.NoError(t, err)
	r := ts.lob.Room(h.roomID)

	stop := make(chan struct{})
	wg := forAttackers(16, 1, stop, func(ip string, stop <-chan struct{}) {
		p, err := dialRaw(ip, ts.addr)
		if err != nil {
			return
		}
		defer p.close()
		if _, err := p.hello("churn", nil); err != nil {
			return
		}
		go func() { _, _ = p.until(time.Minute, func(*sessionpb.ServerMessage) bool { return false }) }() // keep its socket drained
		for i := 0; !stopped(stop); i++ {
			_ = p.send(joinRoom(h.roomID, i%2 == 0))
			_ = p.send(leaveRoom())
			_ = p.send(&sessionpb.ClientMessage{AckSeq: p.seq, Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})
			time.Sleep(5 * time.Millisecond)
		}
	})
	from := r.Info().Tick
	rosters := 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		m, err := obs.read(time.Second)
		require.NoError(t, err, "the observer keeps its connection")
		if m.GetRoster() != nil {
			rosters++
		}
		if m.GetSeq() != 0 {
			_ = obs.send(&sessionpb.ClientMessage{AckSeq: m.GetSeq(), Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})
		}
	}
	ticks := int(r.Info().Tick - from)
	close(stop)
	wg.Wait()
	t.Logf("%d rosters in %d ticks", rosters, ticks)
	assert.LessOrEqual(t, rosters, ticks+1, "at most one roster a tick")
	h.check()
}

// TestLobbyFloodIsCheapAndBounded (issue 13, item 5): with 120 rooms open,
// one connection floods ListRooms and CreateRoom. A list carries at most
// MaxListedRooms rooms, the address opens at most its room budget, the
// requests past the lobby rate are refused, and a session that keeps at it
// is cut with RATE_LIMITED.
func TestLobbyFloodIsCheapAndBounded(t *testing.T) {
	counters := &metrics.Counters{}
	ts := startServer(t, quickRooms(), Config{Metrics: counters})
	for range 120 {
		_, err := ts.lob.Create("", 1)
		require.NoError(t, err)
	}
	h := startHonestSide(t, ts)
	p, err := dialRaw(attackerIP(0), ts.addr)
	require.NoError(t, err)
	defer p.close()
	w, err := p.hello("flood", nil)
	require.NoError(t, err)
	go func() {
		for i := range 4000 {
			m := &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}}
			if i%4 == 0 {
				m = createRoom(1)
			}
			if p.send(m) != nil {
				return
			}
		}
	}()
	var lists, created, overBudget int
	var closed uint16
	reset := false
	for {
		m, err := p.read(5 * time.Second)
		var cb closedBy
		if errors.As(err, &cb) {
			closed = cb.code
			break
		}
		if err != nil {
			// Closing a socket with unread bytes in it (the flood) resets
			// it, which may discard the last frames before they are read:
			// the session's end reason says what the close frame would have.
			closed = code(endReason(t, ts, w))
			reset = true
			break
		}
		if e := m.GetError(); e.GetFatal() {
			closed = code(e.GetCode())
		}
		switch {
		case m.GetRoomList() != nil:
			lists++
			assert.LessOrEqual(t, len(m.GetRoomList().GetRooms()), 100, "a list is capped")
		case m.GetRoomCreated() != nil:
			created++
		case m.GetError().GetCode() == sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET:
			overBudget++
		}
	}
	t.Logf("flood: %d lists, %d rooms created, %d refused, closed with %d", lists, created, overBudget, closed)
	assert.LessOrEqual(t, created, 4, "the address's room budget")
	assert.LessOrEqual(t, lists+created, 20+5+1, "no more than the lobby burst and a second of its rate")
	// Refused by the lobby's budgets, or cut first by the frame rate when
	// a loaded server read the flood faster than it answered it.
	refused := counters.Budget(metrics.BudgetLobbyRate) + counters.Budget(metrics.BudgetRoomsPerAddress) +
		counters.Budget(metrics.BudgetFrameRate)
	assert.Positive(t, refused, "requests over the budgets were refused, not processed")
	if !reset { // a reset may discard the refusals not yet read
		assert.Positive(t, overBudget)
	}
	assert.Equal(t, code(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED), closed, "kept at it: cut")
	h.check()
}

// heartbeatFrame is an unsequenced client frame (an echo of a heartbeat):
// no reply, next to nothing to handle, the cheapest flood there is.
var heartbeatFrame = netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{Time: 1}}})

// TestRateLimitsCannotBeBypassedWithPauses (issue 6 of issue 13): bursts of
// frames far over the frame rate, spaced by pauses longer than any run
// rule (300 ms), on a WebSocket and on a polling channel. What is past the
// burst is dropped unread, and the connection is cut with RATE_LIMITED.
func TestRateLimitsCannotBeBypassedWithPauses(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{})
	h := startHonestSide(t, ts)

	t.Run("websocket", func(t *testing.T) {
		p, err := dialRaw(attackerIP(0), ts.addr)
		require.NoError(t, err)
		defer p.close()
		w, err := p.hello("bursts", nil)
		require.NoError(t, err)
		dropped := ts.gw.framesDropped.Load()
		done := make(chan uint16, 1)
		go func() {
			_, err := p.until(10*time.Second, func(*sessionpb.ServerMessage) bool { return false })
			var cb closedBy
			if errors.As(err, &cb) {
				done <- cb.code
				return
			}
			done <- code(endReason(t, ts, w)) // reset before the close was read
		}()
		start := time.Now()
		var cc uint16
	bursts:
		for time.Since(start) < 8*time.Second {
			for range 400 { // 400 frames every 300 ms: 1333 a second against 240
				if p.c.Binary(heartbeatFrame) != nil {
					break
				}
			}
			select {
			case cc = <-done:
				break bursts
			case <-time.After(300 * time.Millisecond):
			}
		}
		t.Logf("websocket cut after %v with %d; %d frames dropped", time.Since(start).Round(time.Millisecond), cc, ts.gw.framesDropped.Load()-dropped)
		assert.Equal(t, code(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED), cc)
		assert.Positive(t, ts.gw.framesDropped.Load()-dropped, "frames past the burst were dropped, not handled")
	})

	t.Run("polling", func(t *testing.T) {
		ch := openRawPoll(t, ts)
		resp, _ := ch.post(frames(hello("bursts")))
		require.Equal(t, 204, resp.StatusCode)
		var body []byte
		for range 1400 {
			body = pollconn.Append(body, heartbeatFrame)
		}
		start := time.Now()
		status := 0
		for time.Since(start) < 8*time.Second && status != 429 {
			resp, _ := ch.post(body) // 1400 frames every 300 ms
			status = resp.StatusCode
			if status == 429 && resp.Header.Get("Arena-Error-Code") != "12" {
				status = 0 // the POST rate, not the frame rate: go on
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Logf("polling channel cut after %v", time.Since(start).Round(time.Millisecond))
		assert.Equal(t, 429, status, "closed with RATE_LIMITED")
	})
	h.check()
}

// TestChatWalksOnlyItsRoom (issue 13, item 8): with two thousand sessions
// elsewhere on the server, a room's events reach its members without
// touching the server's session table: EmitRoom returns while that table
// is locked.
func TestChatWalksOnlyItsRoom(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{Limits: Limits{MaxSessionsPerIP: -1}})
	h := startHonestSide(t, ts)
	for i := range 2000 {
		p := newPipe(t, ts.gw)
		require.NoError(t, p.send(hello(fmt.Sprintf("idle%d", i))))
	}
	require.Equal(t, 3, ts.gw.rooms.size(), "the index holds the room's three players")
	ts.gw.mu.Lock() // the session table: a room's event must not need it
	got := make(chan int, 1)
	go func() { got <- ts.gw.EmitRoom(h.roomID, "round", []byte("1"), nil) }()
	select {
	case n := <-got:
		ts.gw.mu.Unlock()
		assert.Equal(t, 3, n)
	case <-time.After(2 * time.Second):
		ts.gw.mu.Unlock()
		<-got
		t.Fatal("EmitRoom waited for the server's session table: its cost grows with every session")
	}
	// Chat still reaches the room-mates.
	var mu sync.Mutex
	var lines int
	h.players[1].conn.On(room.ChatEvent, func([]byte) ([]byte, error) {
		mu.Lock()
		lines++
		mu.Unlock()
		return nil, nil
	})
	for range 10 {
		_, err := h.players[0].conn.EmitAck(context.Background(), room.ChatEvent, []byte("hi"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return lines == 10 }, 2*time.Second, time.Millisecond)
	h.check()
}

// TestIdleConnectionsCountOnEveryRoute (issue 13, item 9): one address
// opens a hundred keep-alive connections to /healthz and leaves them idle.
// Past MaxHTTPConnsPerIP they are closed before a request is read; another
// address is served.
func TestIdleConnectionsCountOnEveryRoute(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{Limits: Limits{MaxHTTPConnsPerIP: 32}})
	h := startHonestSide(t, ts)
	served := 0
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 100 {
		c, err := dialerFrom(attackerIP(0))(context.Background(), "tcp", ts.addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: arena\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		if n, _ := c.Read(buf); n > 0 && string(buf[:12]) == "HTTP/1.1 200" {
			served++
		}
	}
	t.Logf("%d of 100 idle connections from one address served", served)
	assert.Equal(t, 32, served, "the address's connection budget")
	assert.Equal(t, 32, ts.gw.HTTPConnsFrom(attackerIP(0)))
	c, err := dialerFrom(attackerIP(1))(context.Background(), "tcp", ts.addr)
	require.NoError(t, err)
	defer c.Close()
	_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: arena\r\n\r\n"))
	buf := make([]byte, 512)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _ := c.Read(buf)
	assert.Equal(t, "HTTP/1.1 200", string(buf[:min(n, 12)]), "another address is served")

	// New connections from one address, each closed after one request:
	// past the rate of new connections (burst 100, 50 a second) they are
	// closed before a request is read.
	start, ok := time.Now(), 0
	for range 300 {
		c, err := dialerFrom(attackerIP(2))(context.Background(), "tcp", ts.addr)
		require.NoError(t, err)
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: arena\r\nConnection: close\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _ := c.Read(buf); n >= 12 && string(buf[:12]) == "HTTP/1.1 200" {
			ok++
		}
		c.Close()
	}
	t.Logf("%d of 300 new connections from one address in %v served", ok, time.Since(start).Round(time.Millisecond))
	assert.LessOrEqual(t, float64(ok), 100+50*time.Since(start).Seconds()+1, "the address's rate of new connections")
	h.check()
}

// TestNonReaderIsCutSoon (issue 13, item 10): a client that joins a room
// and never reads again (while it keeps sending heartbeats, so silence
// does not cut it) used to be kept for minutes: the write timeout starts
// only when the send buffer is full, and the kernel grows that buffer to
// megabytes. Send buffers are bounded now, and a peer whose receive window
// stays closed for the write timeout is cut: within seconds of its own
// buffer filling. Its session is held, as for any lost connection.
func TestNonReaderIsCutSoon(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{})
	h := startHonestSide(t, ts)
	c, err := wstest.DialBuffer(ts.addr, "/ws", 4096)
	require.NoError(t, err)
	defer c.Close()
	p := &rawPeer{c: c}
	_, err = p.hello("deaf", nil)
	require.NoError(t, err)
	require.NoError(t, p.send(joinRoom(h.roomID, false)))
	// From here it reads nothing.
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
				_ = c.Binary(heartbeatFrame)
			}
		}
	}()
	require.Eventually(t, func() bool { return ts.gw.Stats().HeldSessions == 1 }, 20*time.Second, 20*time.Millisecond,
		"the non-reader was not cut")
	t.Logf("a client that stopped reading was cut after %v", time.Since(start).Round(100*time.Millisecond))
	h.check()
}

// TestPollChannelIDIsNotACredential (issue 13, item 11): whoever saw a
// channel's id (in a proxy's log of the address) but not its key can
// neither read its frames nor post to it nor close it; the channel's owner
// goes on.
func TestPollChannelIDIsNotACredential(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{})
	h := startHonestSide(t, ts)
	owner := openRawPoll(t, ts)
	resp, _ := owner.post(frames(hello("owner")))
	require.Equal(t, 204, resp.StatusCode)
	thief := &rawPoll{t: t, base: owner.base, sid: owner.sid, key: "0123456789abcdef0123456789abcdef"}
	for _, nokey := range []*rawPoll{thief, {t: t, base: owner.base, sid: owner.sid}} {
		resp, got := nokey.get(time.Second)
		assert.Equal(t, 403, resp.StatusCode, "GET without the key")
		assert.Empty(t, got)
		resp, _ = nokey.post(frames(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Bye{Bye: &sessionpb.Bye{}}}))
		assert.Equal(t, 403, resp.StatusCode, "POST without the key")
		dresp, err := http.DefaultClient.Do(nokey.request(context.Background(), http.MethodDelete, nil))
		require.NoError(t, err)
		dresp.Body.Close()
		assert.Equal(t, 403, dresp.StatusCode, "DELETE without the key")
	}
	resp, got := owner.get(time.Second)
	require.Equal(t, 200, resp.StatusCode, "the owner's channel is untouched")
	require.NotEmpty(t, got, "and its frames (the Welcome) are still there for it")
	resp, _ = owner.post(frames(&sessionpb.ClientMessage{Seq: 1, RequestId: 1, Body: &sessionpb.ClientMessage_Ping{Ping: &sessionpb.Ping{Time: 7}}}))
	assert.Equal(t, 204, resp.StatusCode, "the session lives")
	assert.Equal(t, uint64(6), ts.gw.poll.Stats().BadKeys)
	h.check()
}

// TestNamesAreNormalized (issue 13, item 12): names with control
// characters, escapes or bidirectional overrides are refused with
// HANDSHAKE and a message saying what is wrong; spaces around a name are
// trimmed.
func TestNamesAreNormalized(t *testing.T) {
	ts := startServer(t, quickRooms(), Config{})
	h := startHonestSide(t, ts)
	for _, bad := range []string{"a\x00b", "two\nlines", "\x1b[31mred", "evil\u202etxt.exe", "a\u2066b", "x\u200by"} {
		p, err := dialRaw(attackerIP(0), ts.addr)
		require.NoError(t, err)
		_, err = p.hello(bad, nil)
		p.close()
		var pe *netcode.Error
		require.ErrorAs(t, err, &pe, "%q", bad)
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE, pe.Code, "%q", bad)
		assert.Contains(t, pe.Message, "name has", "%q: %s", bad, pe.Message)
	}
	p, err := dialRaw(attackerIP(0), ts.addr)
	require.NoError(t, err)
	defer p.close()
	_, err = p.hello("  ann  ", nil)
	require.NoError(t, err)
	j, err := p.request(joinRoom(h.roomID, false))
	require.NoError(t, err)
	_ = j
	require.Eventually(t, func() bool {
		names := ts.lob.Room(h.roomID).Roster()
		return len(names) == 4 && names[3] == "ann"
	}, 2*time.Second, time.Millisecond, "trimmed")
	h.check()
}

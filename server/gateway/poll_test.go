package gateway

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/pollconn"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/room"
)

// httpProxy is a reverse proxy on loopback, the way a corporate proxy or a
// load balancer sits in front of the server. With refuseUpgrade it answers
// WebSocket upgrades 403 (some proxies strip the headers instead, which the
// server refuses with 400: either way the upgrade fails).
type httpProxy struct {
	url           string
	refuseUpgrade atomic.Bool
	hangUpgrade   atomic.Bool // hold upgrade requests without an answer
	mu            sync.Mutex
	hijacked      []net.Conn
	requests      atomic.Int64
}

func newHTTPProxy(t *testing.T, target string) *httpProxy {
	u, err := url.Parse("http://" + target)
	require.NoError(t, err)
	p := &httpProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.requests.Add(1)
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && p.hangUpgrade.Load() {
				<-r.Context().Done() // a proxy that swallows the upgrade
				return
			}
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && p.refuseUpgrade.Load() {
				http.Error(w, "WebSocket is not allowed here", http.StatusForbidden)
				return
			}
			rp.ServeHTTP(w, r)
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateHijacked {
				p.mu.Lock()
				p.hijacked = append(p.hijacked, c)
				p.mu.Unlock()
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); p.cutUpgraded() })
	p.url = "ws://" + ln.Addr().String() + "/ws"
	return p
}

// cutUpgraded closes every WebSocket the proxy carries.
func (p *httpProxy) cutUpgraded() {
	p.mu.Lock()
	cs := p.hijacked
	p.hijacked = nil
	p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// snapCounter counts snapshots and keeps the newest state.
type snapCounter struct {
	n    atomic.Int64
	mu   sync.Mutex
	last *game.Table
	ack  uint32
}

func (s *snapCounter) on(sn *client.Snapshot) {
	s.n.Add(1)
	s.mu.Lock()
	if s.last == nil {
		s.last = game.NewTable(sn.State.Schema)
	}
	s.last.CopyFrom(sn.State)
	s.ack = sn.InputAck
	s.mu.Unlock()
}

func (s *snapCounter) state() (sim.State, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := stateOf(s.last)
	return st, s.ack
}

func dialCounted(t *testing.T, url, name, transport string, probe time.Duration) (*client.Conn, *snapCounter) {
	t.Helper()
	sc := &snapCounter{}
	c, err := client.Dial(context.Background(), client.Config{
		URL: url, Name: name, Transport: transport, OnSnapshot: sc.on,
		Reconnect: client.Backoff{Min: 50 * time.Millisecond, Max: 300 * time.Millisecond},
		Poll:      client.PollOptions{UpgradeTimeout: time.Second, ProbeMin: probe, ProbeMax: 2 * probe},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, sc
}

// playFor sends one input per tick for d and returns the last sequence
// number sent.
func playFor(t *testing.T, c *client.Conn, d time.Duration) uint32 {
	t.Helper()
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	var seq uint32
	for end := time.Now().Add(d); time.Now().Before(end); {
		<-tk.C
		var err error
		seq, err = send(c, sim.Input{Buttons: sim.ButtonLeft, Aim: 3})
		require.NoError(t, err)
	}
	return seq
}

// TestPollingAndWebSocketPlayersShareARoom plays one player over each
// transport in the same match: both get snapshots at the configured rate,
// see each other, and have their inputs acknowledged.
func TestPollingAndWebSocketPlayersShareARoom(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	poller, ps := dialCounted(t, ts.url, "poller", "poll", 0)
	assert.Equal(t, "poll", poller.Transport())
	j, err := poller.Join(context.Background(), "", false)
	require.NoError(t, err)
	wser, ws := dialCounted(t, ts.url, "wser", "ws", 0)
	assert.Equal(t, "ws", wser.Transport())
	j2, err := wser.Join(context.Background(), j.GetRoom().GetId(), false)
	require.NoError(t, err)

	var wg sync.WaitGroup
	var lastPoll, lastWS uint32
	r := ts.lob.Room(j.GetRoom().GetId())
	p0, w0, t0 := ps.n.Load(), ws.n.Load(), r.Info().Tick
	wg.Go(func() { lastPoll = playFor(t, poller, 2*time.Second) })
	wg.Go(func() { lastWS = playFor(t, wser, 2*time.Second) })
	wg.Wait()
	// Snapshots per snapshot tick (one every second tick of the room), so
	// a busy machine that slows the room does not fail the count. Polling
	// may lose a snapshot to latest-wins between two GETs.
	snapTicks := float64(r.Info().Tick-t0) / 2
	assert.GreaterOrEqual(t, float64(ps.n.Load()-p0)/snapTicks, 0.7, "polling snapshots per snapshot tick")
	assert.GreaterOrEqual(t, float64(ws.n.Load()-w0)/snapTicks, 0.9, "WebSocket snapshots per snapshot tick")
	require.Eventually(t, func() bool {
		_, a := ps.state()
		_, b := ws.state()
		return a+8 >= lastPoll && b+8 >= lastWS
	}, 2*time.Second, 10*time.Millisecond, "inputs acknowledged on both transports")
	st, _ := ps.state()
	assert.NotNil(t, st.Player(sim.PlayerID(j2.GetPlayerId())), "the polling player sees the WebSocket player")
	st, _ = ws.state()
	assert.NotNil(t, st.Player(sim.PlayerID(j.GetPlayerId())), "and the other way round")
	assert.Equal(t, int64(1), ts.gw.Stats().PollConnections)
	assert.Equal(t, int64(1), ts.gw.Stats().WSConnections)
}

// TestAutoFallsBackBehindAProxyThatRefusesUpgrade: through a reverse proxy
// that refuses WebSocket, "auto" ends on polling within a few seconds and
// plays.
func TestAutoFallsBackBehindAProxyThatRefusesUpgrade(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	px := newHTTPProxy(t, ts.addr)
	px.refuseUpgrade.Store(true)
	start := time.Now()
	c, sc := dialCounted(t, px.url, "behind", "auto", time.Hour)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, "poll", c.Transport())
	_, err := c.Join(context.Background(), "", false)
	require.NoError(t, err)
	last := playFor(t, c, time.Second)
	require.Eventually(t, func() bool { _, a := sc.state(); return a+8 >= last }, 2*time.Second, 10*time.Millisecond)
	assert.Greater(t, sc.n.Load(), int64(20))
}

// TestAutoFallsBackWhenTheUpgradeNeverCompletes: a proxy that neither
// refuses nor completes the upgrade costs "auto" its upgrade timeout, then
// it plays over polling.
func TestAutoFallsBackWhenTheUpgradeNeverCompletes(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	px := newHTTPProxy(t, ts.addr)
	px.hangUpgrade.Store(true)
	start := time.Now()
	c, sc := dialCounted(t, px.url, "patient", "auto", time.Hour) // upgrade timeout 1 s
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, time.Second)
	assert.Less(t, elapsed, 3*time.Second)
	assert.Equal(t, "poll", c.Transport())
	_, err := c.Join(context.Background(), "", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sc.n.Load() > 5 }, 2*time.Second, 10*time.Millisecond)
}

// TestUpgradeFromPollingKeepsTheSeat starts behind a proxy that refuses
// WebSocket; once the proxy lets upgrades through, the session moves to
// WebSocket by itself with the same player, entity and score.
func TestUpgradeFromPollingKeepsTheSeat(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	px := newHTTPProxy(t, ts.addr)
	px.refuseUpgrade.Store(true)
	c, sc := dialCounted(t, px.url, "upgrader", "auto", 100*time.Millisecond)
	require.Equal(t, "poll", c.Transport())
	j, err := c.Join(context.Background(), "", false)
	require.NoError(t, err)
	id := sim.PlayerID(j.GetPlayerId())
	playFor(t, c, 500*time.Millisecond)
	before, _ := sc.state()
	require.NotNil(t, before.Player(id))

	px.refuseUpgrade.Store(false)
	require.Eventually(t, func() bool { return c.Transport() == "ws" }, 5*time.Second, 10*time.Millisecond, "upgraded")
	n := sc.n.Load()
	last := playFor(t, c, 500*time.Millisecond)
	require.Eventually(t, func() bool { _, a := sc.state(); return a+8 >= last && sc.n.Load() > n+5 }, 2*time.Second, 10*time.Millisecond)
	after, _ := sc.state()
	p := after.Player(id)
	require.NotNil(t, p, "same entity")
	assert.Equal(t, before.Player(id).Kills, p.Kills, "score kept")
	assert.Equal(t, before.Player(id).Deaths, p.Deaths)
	assert.Equal(t, j, c.Joined(), "no rejoin")
	assert.Equal(t, uint64(1), c.Stats().Upgrades)
	assert.Zero(t, c.Stats().Duplicates+c.Stats().Resumes, "an upgrade is not a reconnection")
	assert.Equal(t, 1, ts.lob.List()[0].Players)
}

// TestDowngradeWhenTheWebSocketIsCut: mid-match the proxy starts refusing
// WebSocket and cuts the open one; the client goes on over polling in the
// same seat.
func TestDowngradeWhenTheWebSocketIsCut(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{})
	px := newHTTPProxy(t, ts.addr)
	c, sc := dialCounted(t, px.url, "downgrader", "auto", time.Hour)
	require.Equal(t, "ws", c.Transport())
	j, err := c.Join(context.Background(), "", false)
	require.NoError(t, err)
	id := sim.PlayerID(j.GetPlayerId())
	last := playFor(t, c, 300*time.Millisecond)
	require.Eventually(t, func() bool { _, a := sc.state(); return a+8 >= last }, 2*time.Second, 10*time.Millisecond)
	_, ackBefore := sc.state()

	px.refuseUpgrade.Store(true)
	px.cutUpgraded()
	require.Eventually(t, func() bool { return c.Transport() == "poll" }, 5*time.Second, 10*time.Millisecond, "downgraded")
	n := sc.n.Load()
	last = playFor(t, c, 500*time.Millisecond)
	require.Eventually(t, func() bool { _, a := sc.state(); return a+8 >= last && sc.n.Load() > n+5 }, 2*time.Second, 10*time.Millisecond)
	after, ack := sc.state()
	assert.NotNil(t, after.Player(id), "same entity")
	assert.Greater(t, ack, ackBefore)
	assert.Equal(t, j, c.Joined())
	assert.Equal(t, uint64(1), c.Stats().Resumes)
	assert.Equal(t, 1, ts.lob.List()[0].Players)
}

// rawPoll speaks the polling routes by hand.
type rawPoll struct {
	t    *testing.T
	base string
	sid  string
	key  string // Arena-Poll-Key
}

func openRawPoll(t *testing.T, ts *testServer) *rawPoll {
	t.Helper()
	resp, err := http.Post("http://"+ts.addr+"/poll", pollconn.ContentType, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	sid, key := resp.Header.Get(pollconn.HeaderID), resp.Header.Get(pollconn.HeaderKey)
	require.Len(t, sid, 32)
	require.Len(t, key, 32)
	return &rawPoll{t: t, base: "http://" + ts.addr + "/poll", sid: sid, key: key}
}

// request is a request of the channel, with its key.
func (p *rawPoll) request(ctx context.Context, method string, body []byte) *http.Request {
	req, err := http.NewRequestWithContext(ctx, method, p.base+"?sid="+p.sid, bytes.NewReader(body))
	require.NoError(p.t, err)
	req.Header.Set(pollconn.HeaderKey, p.key)
	return req
}

func (p *rawPoll) post(body []byte) (*http.Response, string) {
	resp, err := http.DefaultClient.Do(p.request(context.Background(), http.MethodPost, body))
	require.NoError(p.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (p *rawPoll) get(timeout time.Duration) (*http.Response, [][]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(p.request(ctx, http.MethodGet, nil))
	require.NoError(p.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	frames, err := pollconn.Split(b)
	require.NoError(p.t, err)
	return resp, frames
}

func frames(ms ...*sessionpb.ClientMessage) []byte {
	var b []byte
	for _, m := range ms {
		b = pollconn.Append(b, netcode.Marshal(m))
	}
	return b
}

// TestBadInputOnPollingRoutes sends what a broken or hostile client would:
// each gets a clear HTTP error, and the room (and the honest player in it)
// carries on.
func TestBadInputOnPollingRoutes(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Heartbeat: time.Minute, HeartbeatTimeout: 2 * time.Minute,
		Poll:   pollconn.ServerOptions{Wait: 300 * time.Millisecond, Linger: 100 * time.Millisecond},
		Limits: Limits{ConnRatePerIP: -1}}) // the POST flood below opens connections by the hundred
	honest, hs := dialCounted(t, ts.url, "honest", "poll", 0)
	j, err := honest.Join(context.Background(), "", false)
	require.NoError(t, err)

	// A raw polling player in the same room, and one in the lobby.
	p, q := openRawPoll(t, ts), openRawPoll(t, ts)
	resp, _ := p.post(frames(hello("raw"), &sessionpb.ClientMessage{Seq: 1, RequestId: 2,
		Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: j.GetRoom().GetId()}}}))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, got := p.get(time.Second)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, got)
	assert.Equal(t, pollconn.ContentType, resp.Header.Get("Content-Type"))

	status := func(method, url string, body []byte) (int, string) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set(pollconn.HeaderKey, p.key)
		if strings.Contains(url, q.sid) {
			req.Header.Set(pollconn.HeaderKey, q.key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, text := status(http.MethodGet, p.base+"?sid=0123456789abcdef0123456789abcdef", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, text, "unknown or expired")
	code, _ = status(http.MethodPut, p.base+"?sid="+p.sid, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	code, _ = status(http.MethodGet, p.base, nil)
	assert.Equal(t, http.StatusBadRequest, code)

	// A second GET while one waits: on a channel in the lobby, where
	// nothing (no snapshot, no heartbeat in this test) ends the first GET.
	resp, _ = q.post(frames(hello("lobby")))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, got = q.get(time.Second)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, got, "the Welcome")
	waiting := make(chan int, 1)
	gets := ts.gw.poll.Stats().Gets
	go func() {
		if resp, err := http.DefaultClient.Do(q.request(context.Background(), http.MethodGet, nil)); err == nil {
			resp.Body.Close()
			waiting <- resp.StatusCode
		}
	}()
	require.Eventually(t, func() bool { return ts.gw.poll.Stats().Gets > gets }, time.Second, time.Millisecond, "the first GET waits")
	code, text = status(http.MethodGet, q.base+"?sid="+q.sid, nil)
	assert.Equal(t, http.StatusConflict, code, "a second concurrent GET is refused")
	assert.Contains(t, text, "another GET")
	assert.Equal(t, http.StatusOK, <-waiting, "the first GET ends normally, empty after the wait")

	// An oversized body, a body that is not length-prefixed frames, and a
	// flood of POSTs: refused, and the session goes on.
	code, text = status(http.MethodPost, p.base+"?sid="+p.sid, make([]byte, 20<<10))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, text, "body over")
	code, text = status(http.MethodPost, p.base+"?sid="+p.sid, []byte{0x05, 0x01})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, text, "malformed body")
	var tooMany atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 60 {
				ack := frames(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})
				if resp, err := http.DefaultClient.Do(p.request(context.Background(), http.MethodPost, ack)); err == nil {
					if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusConflict {
						tooMany.Add(1)
					}
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	assert.Positive(t, tooMany.Load(), "a flood of POSTs is slowed down (429) or serialized (409)")
	resp, got = p.get(time.Second)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the flooded session still works")

	// A frame that is not a ClientMessage ends that session with MALFORMED.
	time.Sleep(100 * time.Millisecond) // let the POST bucket refill after the flood
	code, _ = status(http.MethodPost, p.base+"?sid="+p.sid, pollconn.Append(nil, []byte{0xff, 0xff}))
	assert.Equal(t, http.StatusBadRequest, code)
	// The channel is gone after its last frames; later calls get 410 or 404.
	require.Eventually(t, func() bool {
		code, _ := status(http.MethodGet, p.base+"?sid="+p.sid, nil)
		return code == http.StatusNotFound
	}, 3*time.Second, 20*time.Millisecond)

	// Through all of it the room kept its pace for the honest player:
	// snapshots counted against the room's ticks.
	r := ts.lob.Room(j.GetRoom().GetId())
	n, t0 := hs.n.Load(), r.Info().Tick
	time.Sleep(time.Second)
	assert.GreaterOrEqual(t, float64(hs.n.Load()-n)/(float64(r.Info().Tick-t0)/2), 0.7, "polling snapshots per snapshot tick")
	assert.NotNil(t, ts.lob.Room(j.GetRoom().GetId()))
	_ = got
}

// TestVanishedPollingClientIsDetected: a polling client that stops polling
// and posting is cut by the heartbeat timeout, and its session held.
func TestVanishedPollingClientIsDetected(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Heartbeat: 50 * time.Millisecond, HeartbeatTimeout: 300 * time.Millisecond,
		Poll: pollconn.ServerOptions{Linger: 50 * time.Millisecond}})
	p := openRawPoll(t, ts)
	resp, _ := p.post(frames(hello("ghost")))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Eventually(t, func() bool { return ts.gw.Stats().HeldSessions == 1 }, 3*time.Second, 20*time.Millisecond)
	assert.Equal(t, uint64(1), ts.gw.Stats().HeartbeatTimeouts)
}

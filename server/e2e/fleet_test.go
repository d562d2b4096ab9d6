package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/fleet/redistest"
)

// Fleet timings for these tests: a dead node is gone from the directory
// within fleetTTL (plus at most one heartbeat).
const (
	fleetBeat = 500 * time.Millisecond
	fleetTTL  = 2 * time.Second
)

// fleetNode is one server process of a test fleet.
type fleetNode struct {
	proc  *serverproc.Proc
	ws    string // its WebSocket URL, as the directory lists it
	admin string // its admin address (pprof, metrics, announce)
}

var adminRE = regexp.MustCompile(`admin listener \(pprof, metrics\)" addr=(\S+)`)

// startFleet runs n servers on free loopback ports sharing rd.
func startFleet(t *testing.T, rd *redistest.Server, n int, args ...string) []*fleetNode {
	t.Helper()
	var nodes []*fleetNode
	for range n {
		p := startServer(t, append([]string{"-redis", rd.URL, "-admin-addr", "127.0.0.1:0",
			"-fleet-heartbeat", fleetBeat.String(), "-fleet-ttl", fleetTTL.String()}, args...)...)
		m := adminRE.FindStringSubmatch(p.Log())
		require.NotNil(t, m, "admin address logged")
		nodes = append(nodes, &fleetNode{proc: p, ws: "ws://" + p.Addr + "/ws", admin: m[1]})
	}
	return nodes
}

func dialFleet(t *testing.T, url, name string, onEvent func(string)) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{URL: url, Name: name, Transport: "ws"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if onEvent != nil {
		c.On("announce", func(p []byte) ([]byte, error) { onEvent(string(p)); return nil, nil })
	}
	return c
}

// roomsByServer lists the fleet from url: rooms and players per server.
func roomsByServer(t *testing.T, url string) (rooms, players map[string]int) {
	t.Helper()
	c := dialFleet(t, url, "lister", nil)
	defer c.Close()
	list, err := c.ListRooms(context.Background())
	require.NoError(t, err)
	rooms, players = map[string]int{}, map[string]int{}
	for _, r := range list {
		rooms[r.GetAddress()]++
		players[r.GetAddress()] += int(r.GetPlayers())
	}
	return rooms, players
}

// TestFleetQuickJoinSpreadsOverNodes: bots quick-join through one server
// and end up in full rooms on all three; any server lists them all.
func TestFleetQuickJoinSpreadsOverNodes(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 3, "-room-size", "4")
	const bots = 24
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	measuring := make(chan struct{})
	done := make(chan *swarm.Report, 1)
	go func() {
		// Duration 0: the bots play until the checks below are done.
		rep, err := swarm.Run(ctx, swarm.Config{Game: arena.Def, URL: nodes[0].ws, Bots: bots, Seed: 9, Transport: "ws", ConnectRate: 100,
			OnMeasure: func(int) { close(measuring) }})
		assert.NoError(t, err)
		done <- rep
	}()
	select {
	case <-measuring:
	case <-time.After(30 * time.Second):
		t.Fatal("the bots did not all connect")
	}
	time.Sleep(time.Second) // a few seconds of play for the snapshot rate

	// While they play, every server lists every room: 2 full rooms of 4
	// on each server (the heartbeats carry the counts within a beat).
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			rooms, players := roomsByServer(t, n.ws)
			for _, m := range nodes {
				if len(rooms) != 3 || rooms[m.ws] != 2 || players[m.ws] != 8 {
					t.Logf("from %s: rooms %v players %v", n.ws, rooms, players)
					return false
				}
			}
		}
		return true
	}, 10*time.Second, 250*time.Millisecond, "every server lists the whole fleet")
	stop()
	rep := <-done
	require.NotNil(t, rep)
	require.False(t, rep.Failed(), "bots failed: %v", rep.ErrorList)
	assert.Equal(t, bots, rep.Connected)
	assert.Equal(t, 2*bots/3, rep.Redirected, "the bots seated on the two other servers got there by redirect")
	// Every bot plays, redirected or not: a rate far from zero (30 on an
	// idle machine; a loaded one delivers fewer, so no tight bound).
	assert.Greater(t, rep.SnapshotsPerBotS, 5.0, "redirected or not, every bot plays")
}

// TestFleetKilledNodeLeavesDirectory: a server killed without a drain is
// gone from every listing within the expiry, and nobody is sent there.
func TestFleetKilledNodeLeavesDirectory(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 3, "-room-size", "2")
	a, c := nodes[0], nodes[2]
	host := dialFleet(t, c.ws, "host", nil)
	info, err := host.CreateRoom(context.Background(), 0)
	require.NoError(t, err)
	_, err = host.Join(context.Background(), info.GetId(), false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { rooms, _ := roomsByServer(t, a.ws); return rooms[c.ws] == 1 },
		3*time.Second, 50*time.Millisecond)

	require.NoError(t, c.proc.Signal(syscall.SIGKILL))
	killed := time.Now()
	require.Eventually(t, func() bool { rooms, _ := roomsByServer(t, a.ws); return rooms[c.ws] == 0 },
		fleetTTL+5*time.Second, 50*time.Millisecond)
	gone := time.Since(killed)
	t.Logf("killed node gone from the directory after %v (ttl %v, heartbeat %v)", gone, fleetTTL, fleetBeat)
	assert.Less(t, gone, fleetTTL+fleetBeat+time.Second, "within the expiry (and a loaded machine's slack)")

	for i := range 4 {
		p := dialFleet(t, a.ws, "late", nil)
		_, err := p.Join(context.Background(), "", false)
		require.NoError(t, err, "join %d", i)
		assert.NotEqual(t, c.ws, p.URL())
	}
}

// TestFleetReservationUsedTwiceOrLateIsRefused: the seat a redirect
// reserves is taken once, before it expires, by the server it names.
func TestFleetReservationUsedTwiceOrLateIsRefused(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 2, "-reservation-ttl", "1s")
	a, b := nodes[0], nodes[1]
	host := dialFleet(t, b.ws, "host", nil)
	info, err := host.CreateRoom(context.Background(), 0)
	require.NoError(t, err)
	_, err = host.Join(context.Background(), info.GetId(), false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { rooms, _ := roomsByServer(t, a.ws); return rooms[b.ws] == 1 },
		3*time.Second, 50*time.Millisecond)

	front := dialRawFollowing(t, a.proc.Addr)
	redirect := func() *sessionpb.Redirect {
		m := front.join(t, info.GetId())
		r := m.GetRedirect()
		require.NotNil(t, r, "a join by id of another server's room is redirected: %v", m)
		assert.Equal(t, b.ws, r.GetAddress())
		assert.Equal(t, info.GetId(), r.GetRoomId())
		return r
	}
	redeem := func(r *sessionpb.Redirect) *sessionpb.ServerMessage {
		p := dialRawFollowing(t, b.proc.Addr)
		return p.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{
			RoomId: r.GetRoomId(), Reservation: r.GetReservation()}}})
	}
	code := func(m *sessionpb.ServerMessage) sessionpb.ErrorCode { return m.GetError().GetCode() }

	r := redirect()
	assert.NotNil(t, redeem(r).GetJoined(), "the reservation seats once")
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_USED, code(redeem(r)), "and only once")

	r = redirect()
	forged := &sessionpb.Redirect{RoomId: r.GetRoomId(), Reservation: strings.Repeat("ab", 16)}
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_INVALID, code(redeem(forged)), "a made-up reservation")
	onA := front.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{
		RoomId: r.GetRoomId(), Reservation: r.GetReservation()}}})
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_INVALID, code(onA), "at a server it does not name")
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_EXPIRED, code(redeem(r)), "too late")

	// A client that does not say it follows redirects is never sent one.
	old := dialRaw(t, a.proc.Addr, "old")
	m := old.join(t, info.GetId())
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, code(m), "%v", m)
	assert.Contains(t, m.GetError().GetMessage(), b.ws, "the error names the server that has it")
	assert.NotNil(t, old.join(t, "").GetJoined(), "its quick join seats it here")
}

// TestFleetAnnouncementReachesEveryNode: a server-wide announcement made
// on one server reaches players on all three.
func TestFleetAnnouncementReachesEveryNode(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 3, "-room-size", "2")
	var mu sync.Mutex
	heard := map[string]int{} // server URL -> players who heard it
	var players []*client.Conn
	for i := range 6 {
		var c *client.Conn
		c = dialFleet(t, nodes[0].ws, "p", func(text string) {
			if text == "maintenance at noon" {
				mu.Lock()
				heard[c.URL()]++
				mu.Unlock()
			}
		})
		_, err := c.Join(context.Background(), "", false)
		require.NoError(t, err, "player %d", i)
		players = append(players, c)
	}
	on := map[string]int{}
	for _, c := range players {
		on[c.URL()]++
	}
	require.Equal(t, map[string]int{nodes[0].ws: 2, nodes[1].ws: 2, nodes[2].ws: 2}, on, "two players per server")

	resp, err := noKeepAlive.Post("http://"+nodes[0].admin+"/announce?event=announce", "text/plain", strings.NewReader("maintenance at noon"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return heard[nodes[0].ws] == 2 && heard[nodes[1].ws] == 2 && heard[nodes[2].ws] == 2
	}, 3*time.Second, 10*time.Millisecond, "every player on every server hears it once")
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	assert.Equal(t, map[string]int{nodes[0].ws: 2, nodes[1].ws: 2, nodes[2].ws: 2}, heard, "and only once")
	mu.Unlock()
	m := scrapeMetrics(t, nodes[0].proc.Addr)
	assert.Equal(t, 1.0, m.value(t, "arena_fleet_broadcasts_total", "direction=out"))
	assert.Equal(t, 1.0, m.value(t, "arena_fleet_in_directory"))
	for _, n := range nodes[1:] {
		m := scrapeMetrics(t, n.proc.Addr)
		assert.Equal(t, 1.0, m.value(t, "arena_fleet_broadcasts_total", "direction=in"))
		assert.Equal(t, 0.0, m.value(t, "arena_fleet_broadcasts_dropped_total"))
		assert.Positive(t, m.value(t, "arena_fleet_heartbeats_total"))
	}
}

// TestFleetSurvivesRedisOutage: with Redis stopped mid-run, running
// matches go on and joins stay on each server; when Redis returns, the
// directory is rebuilt and redirects work again.
func TestFleetSurvivesRedisOutage(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 3, "-room-size", "2")
	var snaps [6]atomic.Int64
	var players []*client.Conn
	for i := range 6 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, client.Config{URL: nodes[0].ws, Name: "p", Transport: "ws",
			OnSnapshot: func(*client.Snapshot) { snaps[i].Add(1) }})
		cancel()
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Join(context.Background(), "", false)
		require.NoError(t, err)
		players = append(players, c)
	}
	counts := func() (out [6]int64) {
		for i := range snaps {
			out[i] = snaps[i].Load()
		}
		return out
	}

	rd.Stop()
	before := counts()
	time.Sleep(3 * time.Second) // longer than the directory's expiry
	after := counts()
	for i, c := range players {
		assert.Greater(t, after[i]-before[i], int64(45), "player %d on %s still gets snapshots (30/s)", i, c.URL())
		assert.NotNil(t, c.Joined(), "player %d still in its room", i)
		select {
		case <-c.Done():
			t.Errorf("player %d's session ended: %v", i, c.Err())
		default:
		}
	}
	rooms, _ := roomsByServer(t, nodes[0].ws)
	assert.Equal(t, map[string]int{nodes[0].ws: 1}, rooms, "without Redis a server lists its own rooms")
	alone := dialFleet(t, nodes[1].ws, "alone", nil)
	_, err := alone.Join(context.Background(), "", false)
	require.NoError(t, err, "quick join still works, on the server itself")
	assert.Equal(t, nodes[1].ws, alone.URL())

	rd.Restart() // a new, empty Redis on the same port
	require.Eventually(t, func() bool {
		rooms, _ := roomsByServer(t, nodes[2].ws)
		return rooms[nodes[0].ws] == 1 && rooms[nodes[1].ws] == 2 && rooms[nodes[2].ws] == 1
	}, 10*time.Second, 100*time.Millisecond, "the directory recovers when Redis returns")
	late := dialFleet(t, nodes[0].ws, "late", nil)
	_, err = late.Join(context.Background(), "", false)
	require.NoError(t, err)
	assert.Equal(t, nodes[1].ws, late.URL(), "redirected again: the only free seat is on the second server")
	assert.EqualValues(t, 1, late.Stats().Moves)
}

// TestFleetDrainingNodeLeavesDirectoryAtOnce: a server told to stop leaves
// the directory at once (nobody else is sent there) while its match runs
// (without hand-off: with it the match would move away at once).
func TestFleetDrainingNodeLeavesDirectoryAtOnce(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startFleet(t, rd, 2, "-room-size", "4", "-drain-grace", "20s", "-handoff=false")
	a, b := nodes[0], nodes[1]
	var snaps atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	player, err := client.Dial(ctx, client.Config{URL: b.ws, Name: "stays", Transport: "ws",
		OnSnapshot: func(*client.Snapshot) { snaps.Add(1) }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	_, err = player.Join(ctx, "", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { rooms, _ := roomsByServer(t, a.ws); return rooms[b.ws] == 1 },
		3*time.Second, 50*time.Millisecond)

	require.NoError(t, b.proc.Signal(syscall.SIGTERM))
	start := time.Now()
	require.Eventually(t, func() bool { rooms, _ := roomsByServer(t, a.ws); return rooms[b.ws] == 0 },
		3*time.Second, 20*time.Millisecond)
	t.Logf("draining node gone from the directory after %v", time.Since(start))
	assert.Equal(t, 0.0, scrapeMetrics(t, b.proc.Addr).value(t, "arena_fleet_in_directory"))
	assert.Less(t, time.Since(start), fleetBeat+time.Second, "at once, not after the expiry")
	for range 3 {
		p := dialFleet(t, a.ws, "new", nil)
		_, err := p.Join(ctx, "", false)
		require.NoError(t, err)
		assert.Equal(t, a.ws, p.URL(), "the room with free seats on the draining server is not offered")
	}
	n := snaps.Load()
	time.Sleep(time.Second)
	assert.Greater(t, snaps.Load()-n, int64(20), "its match goes on")
	require.NoError(t, player.Close())
	require.NoError(t, b.proc.Wait(10*time.Second), "the drain ends when its last room empties")
}

// dialRawFollowing is dialRaw with Hello.follows_redirects set.
func dialRawFollowing(t *testing.T, addr string) *rawPlayer {
	t.Helper()
	return dialRawHello(t, addr, &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: "raw", FollowsRedirects: true})
}

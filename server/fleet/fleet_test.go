package fleet

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/server/fleet/redistest"
	"github.com/arenaserver/arena/server/room"
)

// host stands in for a server's lobby: rooms with seat counts.
type host struct {
	mu    sync.Mutex
	rooms map[string]*room.Info
}

func (h *host) list() []room.Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []room.Info
	for _, r := range h.rooms {
		out = append(out, *r)
	}
	return out
}

// seat takes a seat in room id, opening it first when create is set.
func (h *host) seat(id string, create bool, capacity int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[id]
	if r == nil && create {
		r = &room.Info{ID: id, Capacity: capacity}
		h.rooms[id] = r
	}
	switch {
	case r == nil:
		return fmt.Errorf("room %s not here", id)
	case r.Players >= r.Capacity:
		return fmt.Errorf("room %s full (%d/%d)", id, r.Players, r.Capacity)
	}
	r.Players++
	return nil
}

func (h *host) open(id string, players, capacity int) {
	h.mu.Lock()
	h.rooms[id] = &room.Info{ID: id, Players: players, Capacity: capacity}
	h.mu.Unlock()
}

func (h *host) close(id string) {
	h.mu.Lock()
	delete(h.rooms, id)
	h.mu.Unlock()
}

type testNode struct {
	*Node
	host      *host
	mu        sync.Mutex
	delivered []string
}

func (n *testNode) got() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.delivered...)
}

// timing for the tests: a fast heartbeat, and an expiry long enough that
// a loaded machine (the whole suite under -race on 2 cores) does not let a
// live node lapse. TestDeadNodeLeavesDirectoryWithinTTL uses deadTTL.
const (
	testBeat = 100 * time.Millisecond
	testTTL  = 2 * time.Second
	deadTTL  = 800 * time.Millisecond
)

func startNode(t *testing.T, rd *redistest.Server, port int, mode string, size int, tweak ...func(*Config)) *testNode {
	t.Helper()
	tn := &testNode{host: &host{rooms: map[string]*room.Info{}}}
	cfg := Config{
		Redis: rd.URL, Addr: fmt.Sprintf("127.0.0.1:%d", port), Mode: mode, RoomSize: size,
		Heartbeat: testBeat, TTL: testTTL, Rooms: tn.host.list,
		Deliver: func(name string, payload []byte) {
			tn.mu.Lock()
			tn.delivered = append(tn.delivered, name+"="+string(payload))
			tn.mu.Unlock()
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	n, err := New(cfg)
	require.NoError(t, err)
	n.Start(context.Background())
	require.True(t, n.Stats().InDirectory, "the node reached Redis at start")
	t.Cleanup(n.Close)
	tn.Node = n
	return tn
}

// seat carries out a placement the way the gateways do: here, or at the
// node the redirect names, which redeems the reservation first.
func seat(t *testing.T, from *testNode, p Placement, nodes ...*testNode) *testNode {
	t.Helper()
	var at *testNode
	for _, n := range nodes {
		if n.Addr() == p.Addr {
			at = n
		}
	}
	require.NotNil(t, at, "placement names an unknown node %s", p.Addr)
	create, capacity := p.Create, p.Capacity
	if at != from {
		require.False(t, p.Local)
		tk, err := at.Redeem(context.Background(), p.RoomID, p.Reservation)
		require.NoError(t, err)
		create, capacity = tk.Create, tk.Capacity
	} else {
		require.True(t, p.Local)
	}
	require.NoError(t, at.host.seat(p.RoomID, create, capacity))
	at.Settle(p.RoomID, p.Reservation)
	return at
}

func TestQuickJoinFillsRoomsThenSpreadsOverNodes(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 4)
	b := startNode(t, rd, 1002, "arena", 4)
	c := startNode(t, rd, 1003, "arena", 4)
	nodes := []*testNode{a, b, c}
	ctx := context.Background()
	for i := range 24 {
		p, err := a.Place(ctx, Want{})
		require.NoError(t, err)
		seat(t, a, p, nodes...)
		// Placement fills a room before it opens another: at any time at
		// most one room in the fleet has a free seat.
		open := 0
		for _, n := range nodes {
			for _, r := range n.host.list() {
				if r.Players < r.Capacity {
					open++
				}
			}
		}
		require.LessOrEqual(t, open, 1, "after join %d", i)
		if i%5 == 4 {
			for _, n := range nodes {
				n.beat(ctx) // heartbeats in between change nothing in the counts
			}
		}
	}
	for _, n := range nodes {
		rooms := n.host.list()
		assert.Len(t, rooms, 2, "node %s: new rooms spread by load", n.Addr())
		for _, r := range rooms {
			assert.Equal(t, 4, r.Players, "room %s full", r.ID)
		}
	}
	for _, n := range nodes {
		n.beat(ctx) // rooms are listed once their node has published them open
	}
	all, err := b.Rooms(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 6, "any node lists the whole fleet")
}

func TestJoinByIDCountsReservedSeats(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 4)
	b := startNode(t, rd, 1002, "arena", 4)
	b.host.open("rb", 1, 2)
	b.beat(context.Background())
	ctx := context.Background()

	p, err := a.Place(ctx, Want{RoomID: "rb"})
	require.NoError(t, err)
	assert.False(t, p.Local)
	assert.Equal(t, "ws://127.0.0.1:1002/ws", p.Addr)
	assert.Equal(t, "rb", p.RoomID)
	assert.Len(t, p.Reservation, 32)
	_, err = a.Place(ctx, Want{RoomID: "rb"})
	assert.ErrorIs(t, err, ErrFull, "one player and one reserved seat fill a room of two")
	sp, err := a.Place(ctx, Want{RoomID: "rb", Spectate: true})
	require.NoError(t, err, "spectators take no seat")
	assert.True(t, sp.Spectate)
	_, err = a.Place(ctx, Want{RoomID: "nosuch"})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = a.Place(ctx, Want{RoomID: "rb", LocalOnly: true})
	assert.ErrorIs(t, err, ErrElsewhere)
	lp, err := a.Place(ctx, Want{LocalOnly: true})
	require.NoError(t, err)
	assert.True(t, lp.Local, "a client that does not follow redirects stays here")

	seat(t, a, p, a, b)
	b.beat(ctx) // the player is counted; the pending seat is forgotten
	_, err = a.Place(ctx, Want{RoomID: "rb"})
	assert.ErrorIs(t, err, ErrFull, "still full once the player is counted instead")
}

func TestReservationIsSingleUseAndShortLived(t *testing.T) {
	rd := redistest.Start(t)
	const ttl = 400 * time.Millisecond
	a := startNode(t, rd, 1001, "arena", 8, func(c *Config) { c.ReservationTTL = ttl })
	b := startNode(t, rd, 1002, "arena", 8)
	c := startNode(t, rd, 1003, "arena", 8)
	b.host.open("rb", 0, 8)
	b.beat(context.Background())
	ctx := context.Background()
	place := func() Placement {
		p, err := a.Place(ctx, Want{RoomID: "rb"})
		require.NoError(t, err)
		require.Equal(t, b.Addr(), p.Addr)
		return p
	}

	p := place()
	tk, err := b.Redeem(ctx, "rb", p.Reservation)
	require.NoError(t, err)
	assert.Equal(t, "rb", tk.RoomID)
	_, err = b.Redeem(ctx, "rb", p.Reservation)
	assert.ErrorIs(t, err, ErrReservationUsed, "a reservation seats once")

	p = place()
	_, err = c.Redeem(ctx, "rb", p.Reservation)
	assert.ErrorIs(t, err, ErrReservationInvalid, "only the node it names may redeem it")
	_, err = b.Redeem(ctx, "rother", p.Reservation)
	assert.ErrorIs(t, err, ErrReservationInvalid, "only for the room it names")
	_, err = b.Redeem(ctx, "rb", randomHex(16))
	assert.ErrorIs(t, err, ErrReservationInvalid, "a made-up reservation")
	_, err = b.Redeem(ctx, "rb", "short")
	assert.ErrorIs(t, err, ErrReservationInvalid)
	_, err = b.Redeem(ctx, "rb", p.Reservation)
	assert.NoError(t, err, "the refusals above did not spend it")

	p = place()
	time.Sleep(ttl + 200*time.Millisecond)
	_, err = b.Redeem(ctx, "rb", p.Reservation)
	assert.ErrorIs(t, err, ErrReservationExpired, "too late")
	_, err = b.Redeem(ctx, "rb", p.Reservation)
	assert.ErrorIs(t, err, ErrReservationUsed)
	assert.True(t, time.Until(p.Expires) < 0, "Expires said when")
}

// kill stops a node as a crash would: no Leave, no more heartbeats.
func (n *Node) kill() {
	close(n.stop)
	_ = n.sub.Close()
	n.wg.Wait()
	_ = n.rdb.Close()
}

func listed(t *testing.T, n *testNode, addr string) int {
	t.Helper()
	rooms, err := n.Rooms(context.Background())
	require.NoError(t, err)
	k := 0
	for _, r := range rooms {
		if r.Addr == addr {
			k++
		}
	}
	return k
}

func TestDeadNodeLeavesDirectoryWithinTTL(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 4)
	c := startNode(t, rd, 1003, "arena", 4, func(c *Config) { c.TTL = deadTTL })
	c.host.open("rc1", 2, 4)
	c.host.open("rc2", 1, 4)
	c.beat(context.Background())
	require.Equal(t, 2, listed(t, a, c.Addr()))

	c.Node.kill()
	killed := time.Now()
	require.Equal(t, 2, listed(t, a, c.Addr()), "listed until its expiry")
	require.Eventually(t, func() bool { return listed(t, a, c.Addr()) == 0 }, 5*time.Second, 10*time.Millisecond)
	gone := time.Since(killed)
	// The last heartbeat was at most one beat before the kill; allow a
	// loaded machine some slack on top of the TTL.
	assert.Less(t, gone, deadTTL+testBeat+500*time.Millisecond, "gone within the TTL")
	for range 10 {
		p, err := a.Place(context.Background(), Want{})
		require.NoError(t, err)
		assert.NotEqual(t, c.Addr(), p.Addr, "nobody is sent to a dead node")
	}
}

func TestLeaveIsImmediate(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 2)
	b := startNode(t, rd, 1002, "arena", 2)
	b.host.open("rb", 1, 2)
	b.beat(context.Background())
	require.Equal(t, 1, listed(t, a, b.Addr()))
	ctx := context.Background()

	require.NoError(t, b.Leave(ctx))
	assert.Equal(t, 0, listed(t, a, b.Addr()), "gone at once")
	time.Sleep(3 * testBeat)
	assert.Equal(t, 0, listed(t, a, b.Addr()), "and stays gone: no heartbeat republishes it")
	_, err := a.Place(ctx, Want{RoomID: "rb"})
	assert.ErrorIs(t, err, ErrNotFound)
	for range 6 {
		p, err := a.Place(ctx, Want{})
		require.NoError(t, err)
		assert.True(t, p.Local, "quick joins avoid the draining node")
		seat(t, a, p, a, b)
	}
	p, err := b.Place(ctx, Want{})
	require.NoError(t, err)
	assert.Equal(t, a.Addr(), p.Addr, "the draining node sends its own front-door joins elsewhere")
	_, err = b.Place(ctx, Want{LocalOnly: true})
	assert.ErrorIs(t, err, ErrNoServer)
	a.beat(ctx)
	assert.Equal(t, 3, listed(t, b, a.Addr()), "a draining node still lists the fleet")
}

func TestModeSeparatesQuickJoins(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 2)
	d := startNode(t, rd, 1004, "ctf", 2)
	ctx := context.Background()
	for range 6 {
		p, err := a.Place(ctx, Want{})
		require.NoError(t, err)
		assert.Equal(t, a.Addr(), p.Addr, "arena joins stay on arena servers")
		seat(t, a, p, a, d)
		p, err = d.Place(ctx, Want{})
		require.NoError(t, err)
		assert.Equal(t, d.Addr(), p.Addr, "ctf joins stay on ctf servers")
		seat(t, d, p, a, d)
	}
	d.beat(ctx) // rooms are listed once their node has published them open
	rooms, err := a.Rooms(ctx)
	require.NoError(t, err)
	modes := map[string]int{}
	for _, r := range rooms {
		modes[r.Mode]++
	}
	assert.Equal(t, map[string]int{"arena": 3, "ctf": 3}, modes, "the listing shows every mode")
}

func TestBroadcastReachesOtherNodes(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 4)
	b := startNode(t, rd, 1002, "arena", 4)
	c := startNode(t, rd, 1003, "arena", 4)
	// Subscriptions are asynchronous: the first broadcast may beat them.
	require.Eventually(t, func() bool {
		a.Broadcast("warmup", nil)
		time.Sleep(20 * time.Millisecond)
		return len(b.got()) > 0 && len(c.got()) > 0
	}, 5*time.Second, 50*time.Millisecond)
	a.Broadcast("announce", []byte("maintenance at noon"))
	for _, n := range []*testNode{b, c} {
		require.Eventually(t, func() bool {
			got := n.got()
			return len(got) > 0 && got[len(got)-1] == "announce=maintenance at noon"
		}, 2*time.Second, 10*time.Millisecond)
	}
	assert.Empty(t, a.got(), "the sender delivers its own broadcast itself, not through Redis")
}

func TestRedisOutageThenRecovery(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 4)
	b := startNode(t, rd, 1002, "arena", 4)
	a.host.open("ra", 2, 4)
	b.host.open("rb", 3, 4)
	ctx := context.Background()
	require.Eventually(t, func() bool { return listed(t, a, b.Addr()) == 1 }, 2*time.Second, 10*time.Millisecond)

	rd.Stop()
	require.Eventually(t, func() bool { return !a.Stats().InDirectory }, 3*time.Second, 10*time.Millisecond,
		"a failed heartbeat marks the node out of the directory")
	start := time.Now()
	_, err := a.Place(ctx, Want{})
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Less(t, time.Since(start), 100*time.Millisecond, "placement fails fast while Redis is away")
	rooms, err := a.Rooms(ctx)
	assert.ErrorIs(t, err, ErrUnavailable)
	require.Len(t, rooms, 1, "its own rooms are still listed")
	assert.Equal(t, "ra", rooms[0].ID)
	a.Broadcast("lost", nil) // must not block
	require.Eventually(t, func() bool { return a.Stats().BroadcastsDropped == 1 }, 3*time.Second, 10*time.Millisecond,
		"a broadcast Redis did not take is counted")

	rd.Restart() // empty: the directory is rebuilt by the heartbeats
	require.Eventually(t, func() bool {
		rooms, err := a.Rooms(ctx)
		return err == nil && len(rooms) == 2
	}, 5*time.Second, 20*time.Millisecond, "the directory recovers when Redis returns")
	p, err := b.Place(ctx, Want{})
	require.NoError(t, err)
	assert.Equal(t, "rb", p.RoomID, "placement works again: the fullest room")
	require.Eventually(t, func() bool {
		a.Broadcast("back", nil)
		time.Sleep(20 * time.Millisecond)
		for _, g := range b.got() {
			if g == "back=" {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "the subscription comes back too")
}

func TestJoinByIDOfARoomNotYetPublished(t *testing.T) {
	rd := redistest.Start(t)
	a := startNode(t, rd, 1001, "arena", 2, func(c *Config) { c.Heartbeat, c.TTL = time.Hour, 3*time.Hour })
	b := startNode(t, rd, 1002, "arena", 2)
	ctx := context.Background()
	a.host.open("ra", 1, 2) // just created: no heartbeat has listed it
	_, err := b.Place(ctx, Want{RoomID: "ra"})
	assert.ErrorIs(t, err, ErrNotFound, "other nodes cannot know it yet")
	p, err := a.Place(ctx, Want{RoomID: "ra"})
	require.NoError(t, err, "its own node seats a join by id at once")
	assert.True(t, p.Local)
	assert.Equal(t, 1, listed(t, b, a.Addr()), "and lists it on the way")
	_, err = b.Place(ctx, Want{RoomID: "ra"})
	assert.ErrorIs(t, err, ErrFull, "with the seat just reserved counted")
}

func TestPublicAddresses(t *testing.T) {
	osHostname = func() (string, error) { return "game-7", nil }
	defer func() { osHostname = os.Hostname }()
	for in, want := range map[string]string{
		"127.0.0.1:8081": "127.0.0.1:8081",
		":8080":          "game-7:8080",
		"0.0.0.0:8080":   "game-7:8080",
		"[::]:8080":      "game-7:8080",
		"10.1.2.3:9000":  "10.1.2.3:9000",
	} {
		assert.Equal(t, want, PublicAddr(in), in)
	}
	assert.Equal(t, "ws://game-7:8080/ws", WSURL("game-7:8080"))
	assert.Equal(t, "wss://play.example.com/ws", WSURL("wss://play.example.com/ws"))

	_, err := New(Config{Redis: "redis://127.0.0.1:1", Addr: "a:1", Rooms: func() []room.Info { return nil }, Heartbeat: time.Second, TTL: time.Second})
	assert.ErrorContains(t, err, "TTL")
	_, err = New(Config{Redis: "redis://127.0.0.1:1", Addr: "a:1"})
	assert.ErrorContains(t, err, "Rooms")
}

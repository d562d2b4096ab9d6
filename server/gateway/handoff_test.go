package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/server/room"
)

// directMover hands rooms straight to another gateway in this process
// (the fleet does it through Redis: server/fleet, and the e2e tests).
type directMover struct {
	to  func() *testServer
	err error
}

func (d *directMover) Hand(_ context.Context, _ string, bundle []byte) (string, error) {
	if d.err != nil {
		return "", d.err
	}
	ts := d.to()
	if err := ts.gw.Adopt(bundle); err != nil {
		return "", err
	}
	return ts.url, nil
}

var secret = []byte("0123456789abcdef0123456789abcdef")

// TestDrainMovesTheRoomAndItsSessions (issue 16): MoveRooms hands a running
// room with two players to another server; both clients follow the Move
// and resume there (Welcome.moved): same room, seats and entities, the
// first snapshot a delta from the state they held, acknowledged inputs not
// applied again, events sent before the move delivered once, and the
// match goes on there.
func TestDrainMovesTheRoomAndItsSessions(t *testing.T) {
	for _, transport := range []string{"ws", "poll"} {
		t.Run(transport, func(t *testing.T) {
			b := startServer(t, room.Config{}, Config{Secret: secret})
			a := startServer(t, room.Config{}, Config{Secret: secret, Mover: &directMover{to: func() *testServer { return b }}})

			walker := dialResumer(t, a.url, "walker", transport)
			j, err := walker.conn.Join(context.Background(), "", false)
			require.NoError(t, err)
			id := sim.PlayerID(j.GetPlayerId())
			watcher := dialResumer(t, a.url, "watcher", transport)
			_, err = watcher.conn.Join(context.Background(), j.GetRoom().GetId(), false)
			require.NoError(t, err)
			require.Eventually(t, func() bool { s, _ := walker.state(); return s.Player(id) != nil }, 2*time.Second, 5*time.Millisecond)
			start, _ := walker.state()
			cfg := rulesOf(j)
			walker.walk(t, scriptedWalk(start.Player(id), cfg, 30, 0))
			before, ackBefore := walker.state()
			want := *before.Player(id)
			pl := playerNamed(t, a.gw, "walker")
			for i := range 3 {
				require.NoError(t, pl.Emit("note", []byte(fmt.Sprint(i))))
			}

			require.Eventually(t, func() bool { return a.gw.rooms.size() == 2 }, 2*time.Second, time.Millisecond, "the seats are indexed")
			moved, stayed := a.gw.MoveRooms(context.Background())
			require.Equal(t, 1, moved)
			require.Equal(t, 0, stayed)
			assert.Empty(t, a.lob.Rooms(), "the room left this server")
			require.NotNil(t, b.lob.Room(j.GetRoom().GetId()), "the other server hosts it, under the same id")

			for _, c := range []*resumer{walker, watcher} {
				require.Eventually(t, func() bool {
					c.mu.Lock()
					defer c.mu.Unlock()
					return len(c.resumes) == 1 && len(c.afterResume) == 1
				}, 5*time.Second, 5*time.Millisecond, "resumed on the other server")
				c.mu.Lock()
				res, first := c.resumes[0], c.afterResume[0]
				c.mu.Unlock()
				assert.True(t, res.Moved, "Welcome.moved")
				assert.Equal(t, b.url, c.conn.URL())
				assert.NotZero(t, first.BaselineAge, "the first snapshot after the move is a delta")
				assert.Equal(t, uint64(1), c.conn.Stats().Handoffs)
				assert.Zero(t, c.conn.Stats().Duplicates)
			}
			assert.Equal(t, j.GetRoom().GetId(), walker.conn.Joined().GetRoom().GetId(), "no rejoin")
			walker.mu.Lock()
			first := walker.afterResume[0]
			walker.mu.Unlock()
			require.NotNil(t, first.State.Get(arena.KindPlayer, uint32(id)), "same entity")
			assert.GreaterOrEqual(t, first.InputAck, ackBefore, "the input ack never goes back")
			now, _ := walker.state()
			assert.Equal(t, want.X, now.Player(id).X, "acknowledged inputs are not applied again")
			assert.Equal(t, want.Y, now.Player(id).Y)
			require.Eventually(t, func() bool { walker.mu.Lock(); defer walker.mu.Unlock(); return len(walker.events) >= 3 }, 2*time.Second, 5*time.Millisecond)
			walker.mu.Lock()
			assert.Equal(t, []string{"0", "1", "2"}, walker.events, "events queued before the move arrive once")
			walker.mu.Unlock()

			// The match goes on there: inputs, events and lobby requests.
			last := walker.walk(t, scriptedWalk(now.Player(id), cfg, 30, 1))
			end, ack := walker.state()
			assert.GreaterOrEqual(t, ack, last)
			assert.NotEqual(t, want, *end.Player(id), "the player walked on")
			require.NoError(t, playerNamed(t, b.gw, "walker").Emit("note", []byte("3")))
			require.Eventually(t, func() bool { walker.mu.Lock(); defer walker.mu.Unlock(); return len(walker.events) == 4 }, 2*time.Second, 5*time.Millisecond)
			_, err = walker.conn.ListRooms(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 2, b.lob.List()[0].Players)
			st := a.gw.Moves()
			assert.Equal(t, MoveStats{RoomsOut: 1, SessionsOut: 2}, st)
			assert.Equal(t, MoveStats{RoomsIn: 1, SessionsIn: 2}, b.gw.Moves())
		})
	}
}

// TestFailedHandOffKeepsTheRoom: when no server takes the room it thaws
// and ticks on here, its clients none the wiser; a client that does not
// follow moves keeps its room here too.
func TestFailedHandOffKeepsTheRoom(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		noMoves bool
	}{
		{"no server takes it", errors.New("no server"), false},
		{"a client does not follow moves", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startServer(t, room.Config{}, Config{Secret: secret})
			a := startServer(t, room.Config{}, Config{Secret: secret, Mover: &directMover{to: func() *testServer { return b }, err: tc.err}})
			p := dialPlayer(t, a, "p")
			_, err := p.conn.Join(context.Background(), "", false)
			require.NoError(t, err)
			c, err := client.Dial(context.Background(), client.Config{URL: a.url, Name: "old", NoMoves: tc.noMoves})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			_, err = c.Join(context.Background(), "", false)
			require.NoError(t, err)
			tick := a.lob.List()[0].Tick
			moved, stayed := a.gw.MoveRooms(context.Background())
			assert.Equal(t, 0, moved)
			assert.Equal(t, 1, stayed)
			require.Len(t, a.lob.Rooms(), 1)
			assert.Empty(t, b.lob.Rooms())
			n := p.snapshots.Load()
			require.Eventually(t, func() bool { return p.snapshots.Load() > n+10 }, 2*time.Second, 5*time.Millisecond, "snapshots go on")
			assert.Greater(t, a.lob.List()[0].Tick, tick)
			assert.Zero(t, p.conn.Stats().Handoffs)
			p.mu.Lock()
			assert.Empty(t, p.errs)
			p.mu.Unlock()
		})
	}
}

// TestAdoptRefusesBadBundles: a damaged bundle or one whose sessions live
// here already is refused, and leaves nothing behind.
func TestAdoptRefusesBadBundles(t *testing.T) {
	b := startServer(t, room.Config{}, Config{Secret: secret})
	var got []byte
	a := startServer(t, room.Config{}, Config{Secret: secret, Mover: moverFunc(func(bundle []byte) (string, error) {
		got = append([]byte(nil), bundle...)
		return "", errors.New("keep it")
	})})
	p := dialPlayer(t, a, "p")
	_, err := p.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.gw.rooms.size() == 1 }, 2*time.Second, time.Millisecond, "the seat is indexed")
	a.gw.MoveRooms(context.Background())
	require.NotEmpty(t, got)
	for i := range len(got) - 1 {
		assert.Error(t, b.gw.Adopt(got[:i]), "cut at %d", i)
	}
	assert.ErrorIs(t, b.gw.Adopt(append(append([]byte(nil), got...), 0)), ErrBundle, "trailing bytes")
	require.NoError(t, b.gw.Adopt(got))
	assert.Error(t, b.gw.Adopt(got), "the room and its sessions are here already")
	assert.Len(t, b.lob.Rooms(), 1)
	assert.Equal(t, int64(1), b.gw.Stats().Sessions)
}

type moverFunc func([]byte) (string, error)

func (f moverFunc) Hand(_ context.Context, _ string, bundle []byte) (string, error) { return f(bundle) }

// memLocator is a fleet's session directory in memory, shared by the
// gateways of a test.
type memLocator struct {
	mu    sync.Mutex
	where map[string]string
	peers func() []string
}

func (l *memLocator) HoldSessions(ids []string, _ string, _ uint32, _ time.Duration) {}

func (l *memLocator) Locate(_ context.Context, id string) (string, string, uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.where[id], "", 0, nil
}

func (l *memLocator) Peers() []string { return l.peers() }

// TestCrashRestoresFromCheckpoint (issue 16): a server's room is
// checkpointed, the player walks on, and the server dies (its listener
// and connections gone). Another server restores the room from the
// checkpoint; the client, whose server does not answer, asks the other
// server (Welcome.peers), resumes there (Welcome.moved) and plays on: its
// seat, reliable requests, events and inputs all work after the restore,
// though the play since the checkpoint is lost.
func TestCrashRestoresFromCheckpoint(t *testing.T) {
	var a, b *testServer
	loc := &memLocator{where: map[string]string{}}
	b = startServer(t, room.Config{}, Config{Secret: secret, Locator: &memLocator{peers: func() []string { return []string{a.url} }}})
	loc.peers = func() []string { return []string{b.url} }
	a = startServer(t, room.Config{}, Config{Secret: secret, Locator: loc})

	walker := dialResumer(t, a.url, "walker", "ws")
	j, err := walker.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	id := sim.PlayerID(j.GetPlayerId())
	require.Eventually(t, func() bool { s, _ := walker.state(); return s.Player(id) != nil }, 2*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return a.gw.rooms.size() == 1 }, 2*time.Second, time.Millisecond)
	start, _ := walker.state()
	cfg := rulesOf(j)
	walker.walk(t, scriptedWalk(start.Player(id), cfg, 20, 0))
	checkpoint := a.gw.CheckpointBundles(context.Background())
	require.Len(t, checkpoint, 1)
	saved, _ := walker.state()
	walker.walk(t, scriptedWalk(saved.Player(id), cfg, 20, 1)) // lost with the crash
	_, err = walker.conn.ListRooms(context.Background())       // a reliable frame the crash loses too
	require.NoError(t, err)

	// The crash: nothing of a answers any more.
	require.NoError(t, a.srv.Close())
	a.gw.DropConnections()
	require.NoError(t, b.gw.Restore(checkpoint[j.GetRoom().GetId()]))
	w := walker.conn.Welcome()
	loc.mu.Lock()
	loc.where[w.GetSessionId()] = b.url
	loc.mu.Unlock()

	require.Eventually(t, func() bool {
		walker.mu.Lock()
		defer walker.mu.Unlock()
		return len(walker.resumes) == 1 && len(walker.afterResume) == 1
	}, 10*time.Second, 5*time.Millisecond, "resumed on the server that restored the room")
	walker.mu.Lock()
	res, first := walker.resumes[0], walker.afterResume[0]
	walker.mu.Unlock()
	assert.True(t, res.Moved)
	assert.Equal(t, b.url, walker.conn.URL())
	assert.Zero(t, first.BaselineAge, "a full snapshot after a restore")
	back, _ := walker.state()
	assert.Equal(t, saved.Player(id).X, back.Player(id).X, "the play since the checkpoint is lost")
	assert.Equal(t, saved.Player(id).Y, back.Player(id).Y)

	// Everything works on: requests, events, inputs.
	_, err = walker.conn.ListRooms(context.Background())
	require.NoError(t, err)
	require.NoError(t, playerNamed(t, b.gw, "walker").Emit("note", []byte("after")))
	require.Eventually(t, func() bool {
		walker.mu.Lock()
		defer walker.mu.Unlock()
		return len(walker.events) > 0 && walker.events[len(walker.events)-1] == "after"
	}, 2*time.Second, 5*time.Millisecond, "an event after the restore")
	last := walker.walk(t, scriptedWalk(back.Player(id), cfg, 20, 2))
	_, ack := walker.state()
	assert.GreaterOrEqual(t, ack, last, "inputs after the restore are applied")
	assert.Equal(t, MoveStats{RoomsRestored: 1, SessionsRestored: 1}, b.gw.Moves())
}

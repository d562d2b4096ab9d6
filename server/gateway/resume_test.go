package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
)

// resumer is a client under test: it records every roster, every event,
// and what happened around each resume.
type resumer struct {
	conn *client.Conn
	mu   sync.Mutex
	// everything below is guarded by mu
	rosters      []string
	events       []string
	resumes      []client.Resume
	afterResume  []client.Snapshot // the first snapshot after each resume
	wantSnapshot bool
	last         *game.Table
	lastAck      uint32
	acks         []uint32 // input_ack of every snapshot
	disconnects  int
}

func dialResumer(t *testing.T, url, name, transport string) *resumer {
	t.Helper()
	r := &resumer{}
	c, err := client.Dial(context.Background(), client.Config{
		URL: url, Name: name, Transport: transport,
		Reconnect: client.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond},
		OnRoster: func(ro *sessionpb.Roster) {
			var names []string
			for _, p := range ro.GetPlayers() {
				names = append(names, p.GetName())
			}
			r.mu.Lock()
			r.rosters = append(r.rosters, strings.Join(names, ","))
			r.mu.Unlock()
		},
		OnResume: func(res client.Resume) {
			r.mu.Lock()
			r.resumes = append(r.resumes, res)
			r.wantSnapshot = true
			r.mu.Unlock()
		},
		OnDisconnect: func(error) {
			r.mu.Lock()
			r.disconnects++
			r.mu.Unlock()
		},
		OnSnapshot: func(s *client.Snapshot) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.wantSnapshot {
				r.wantSnapshot = false
				r.afterResume = append(r.afterResume, *s)
			}
			if r.last == nil {
				r.last = game.NewTable(s.State.Schema)
			}
			r.last.CopyFrom(s.State)
			r.lastAck = s.InputAck
			r.acks = append(r.acks, s.InputAck)
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r.conn = c
	c.On("note", func(p []byte) ([]byte, error) {
		r.mu.Lock()
		r.events = append(r.events, string(p))
		r.mu.Unlock()
		return nil, nil
	})
	return r
}

func (r *resumer) state() (sim.State, uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := stateOf(r.last)
	return s, r.lastAck
}

func (r *resumer) rosterLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rosters...)
}

func (r *resumer) resumeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.resumes)
}

// walk sends script one input per tick and then idle inputs until the
// server has acknowledged every scripted one. It returns the last
// scripted sequence number.
func (r *resumer) walk(t *testing.T, script []sim.Input) uint32 {
	t.Helper()
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	var last uint32
	for _, in := range script {
		<-tk.C
		seq, err := send(r.conn, in)
		require.NoError(t, err)
		last = seq
	}
	idle := sim.Input{Aim: script[len(script)-1].Aim}
	deadline := time.Now().Add(5 * time.Second)
	for {
		<-tk.C
		if _, ack := r.state(); ack >= last+4 {
			return last
		}
		require.True(t, time.Now().Before(deadline), "inputs up to %d not acknowledged", last)
		_, err := send(r.conn, idle)
		require.NoError(t, err)
	}
}

// TestResumeAfterConnectionLoss cuts a playing client's connection four
// ways and checks that it comes back to its own seat: same player, same
// entity, the events and roster changes it missed replayed exactly once
// and in order,
// the inputs the server acknowledged before the cut not applied again (the
// position is unchanged), and a delta snapshot right after the resume.
func TestResumeAfterConnectionLoss(t *testing.T) {
	cases := []struct {
		name string
		cut  func(ts *testServer, px *tcpProxy, r *resumer)
	}{
		{"server closes", func(ts *testServer, _ *tcpProxy, _ *resumer) {
			require.Positive(t, ts.gw.DropConnections())
		}},
		{"client closes", func(_ *testServer, _ *tcpProxy, r *resumer) { r.conn.Drop() }},
		{"network cut", func(_ *testServer, px *tcpProxy, _ *resumer) { px.cut() }},
		{"stalled without closing", func(_ *testServer, px *tcpProxy, _ *resumer) { px.stall() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A long snapshot history keeps the baseline through a stall's
			// detection time; the room's default (about a second) is tested
			// by the benchmarks' figures.
			ts := startServer(t, room.Config{History: 120}, Config{
				Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: time.Second, Hold: 10 * time.Second})
			px := newTCPProxy(t, ts.addr)
			walker := dialResumer(t, "ws://"+px.addr()+"/ws", "walker", "ws")
			j, err := walker.conn.Join(context.Background(), "", false)
			require.NoError(t, err)
			id := sim.PlayerID(j.GetPlayerId())
			watcher := dialPlayer(t, ts, "watcher")
			_, err = watcher.conn.Join(context.Background(), j.GetRoom().GetId(), false)
			require.NoError(t, err)
			require.Eventually(t, func() bool { s, _ := walker.state(); return s.Player(id) != nil }, 2*time.Second, 5*time.Millisecond)
			start, _ := walker.state()
			cfg := rulesOf(j)

			// Walk, and make sure the server acknowledged all of it. (The
			// exact arithmetic of inputs across a resume is checked without
			// network timing in TestInputsAcrossAResumeAreAppliedOnce.)
			w1 := scriptedWalk(start.Player(id), cfg, 40, 0)
			walker.walk(t, w1)
			before, ackBefore := walker.state()
			want := *before.Player(id)
			require.NotEqual(t, start.Player(id).X, want.X, "the walker walked")

			// Events before the cut, and while the walker is away.
			pl := playerNamed(t, ts.gw, "walker")
			for i := range 3 {
				require.NoError(t, pl.Emit("note", []byte(fmt.Sprint(i))))
			}
			require.Eventually(t, func() bool { walker.mu.Lock(); defer walker.mu.Unlock(); return len(walker.events) == 3 }, 2*time.Second, 5*time.Millisecond)

			// Cut, and change the room while the walker is away. (A loaded
			// machine may already have cost the walker a connection: count
			// from here.)
			resumed := walker.resumeCount()
			walker.mu.Lock()
			rostersBefore := len(walker.rosters)
			walker.mu.Unlock()
			tc.cut(ts, px, walker)
			for i := 3; i < 8; i++ {
				require.NoError(t, pl.Emit("note", []byte(fmt.Sprint(i))))
			}
			third := dialPlayer(t, ts, "third")
			_, err = third.conn.Join(context.Background(), j.GetRoom().GetId(), false)
			require.NoError(t, err)
			require.NoError(t, third.conn.Leave(context.Background()))

			require.Eventually(t, func() bool { return walker.resumeCount() == resumed+1 }, 5*time.Second, 5*time.Millisecond, "resumed")
			require.Eventually(t, func() bool {
				walker.mu.Lock()
				defer walker.mu.Unlock()
				return len(walker.afterResume) == resumed+1
			}, 2*time.Second, 5*time.Millisecond)
			assert.Equal(t, j, walker.conn.Joined(), "still in the same room, no rejoin")
			walker.mu.Lock()
			first := walker.afterResume[resumed]
			walker.mu.Unlock()
			assert.NotZero(t, first.BaselineAge, "the first snapshot after the resume is a delta")
			require.NotNil(t, first.State.Get(arena.KindPlayer, uint32(id)), "same entity")
			assert.GreaterOrEqual(t, first.InputAck, ackBefore, "the input ack never goes back")

			// The roster changes missed while away: each at most once, in
			// order, ending with the list as it is (a held session keeps only
			// the newest roster it has not seen; one that the old connection
			// already carried is replayed as it was; a join and a leave
			// within one tick change nothing, so send nothing). The replay
			// came before the first snapshot after the resume.
			log := walker.rosterLog()[rostersBefore-1:]
			assert.Contains(t, [][]string{{"walker,watcher"}, {"walker,watcher", "walker,watcher"},
				{"walker,watcher", "walker,watcher,third", "walker,watcher"}}, log, "rosters after the cut")
			assert.Zero(t, walker.conn.Stats().Duplicates)
			require.Eventually(t, func() bool { walker.mu.Lock(); defer walker.mu.Unlock(); return len(walker.events) >= 8 }, 2*time.Second, 5*time.Millisecond)
			walker.mu.Lock()
			assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7"}, walker.events, "events sent while away arrive once, in order")
			walker.mu.Unlock()

			// Acknowledged inputs were not applied again: the player is where
			// it was when the connection broke.
			now, _ := walker.state()
			assert.Equal(t, want.X, now.Player(id).X, "x after the resume")
			assert.Equal(t, want.Y, now.Player(id).Y, "y after the resume")
			// And the input stream goes on. (Exact positions after new inputs
			// depend on whether each arrived before its tick, section 6.3 of
			// PROTOCOL.md, which has nothing to do with the resume.)
			w2 := scriptedWalk(now.Player(id), cfg, 40, 1)
			last := walker.walk(t, w2)
			end, ack := walker.state()
			assert.GreaterOrEqual(t, ack, last)
			assert.NotEqual(t, want, *end.Player(id), "the player walked on")
			assert.Equal(t, 2, ts.lob.List()[0].Players, "no extra seat was taken")
		})
	}
}

// scriptedWalk returns n inputs that walk away from the nearer walls, in a
// direction that depends on variant.
func scriptedWalk(self *sim.Player, cfg sim.Config, n, variant int) []sim.Input {
	h := sim.ButtonRight
	if self.X > cfg.Arena.Width/2 {
		h = sim.ButtonLeft
	}
	v := sim.ButtonDown
	if self.Y > cfg.Arena.Height/2 {
		v = sim.ButtonUp
	}
	var script []sim.Input
	for i := range n {
		b := h
		if (i/10+variant)%2 == 1 {
			b |= v
		}
		script = append(script, sim.Input{Buttons: b, Aim: uint16((i*7 + variant*100) % 1024)})
	}
	// End still: while it waits for more input the player stands still anyway.
	return append(script, sim.Input{Aim: script[n-1].Aim})
}

// TestResumeRefusedAfterTheWindow lets the hold window pass while the
// client cannot reach the server: the client gives up with a clear error
// and the seat is freed.
func TestResumeRefusedAfterTheWindow(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Hold: 300 * time.Millisecond})
	px := newTCPProxy(t, ts.addr)
	r := dialResumer(t, "ws://"+px.addr()+"/ws", "late", "ws")
	j, err := r.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	px.setRefuse(true)
	px.cut()
	select {
	case <-r.conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the client kept trying past the hold window")
	}
	assert.ErrorIs(t, r.conn.Err(), client.ErrSessionLost)
	assert.Contains(t, r.conn.Err().Error(), "hold window")
	require.Eventually(t, func() bool {
		rm := ts.lob.Room(j.GetRoom().GetId())
		return rm == nil || rm.Info().Players == 0
	}, 3*time.Second, 10*time.Millisecond, "seat freed")
}

// TestCloseFreesTheSeatAtOnce: a client that says goodbye is not held.
func TestCloseFreesTheSeatAtOnce(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Hold: time.Hour})
	p := dialPlayer(t, ts, "bye")
	j, err := p.conn.Join(context.Background(), "", false)
	require.NoError(t, err)
	require.NoError(t, p.conn.Close())
	require.Eventually(t, func() bool { return ts.lob.Room(j.GetRoom().GetId()).Info().Players == 0 }, 2*time.Second, 10*time.Millisecond)
	assert.Zero(t, ts.gw.Stats().Sessions)
}

// TestRequestsSurviveAReconnect sends requests while the transport is down:
// they wait, go out after the resume, and are answered once.
func TestRequestsSurviveAReconnect(t *testing.T) {
	ts := startServerWith(t, lobby.Config{MaxRoomsPerOwner: -1}, Config{Hold: 10 * time.Second})
	px := newTCPProxy(t, ts.addr)
	r := dialResumer(t, "ws://"+px.addr()+"/ws", "asker", "ws")
	px.setRefuse(true)
	px.cut()
	require.Eventually(t, func() bool { return r.conn.Transport() == "" }, 2*time.Second, 5*time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = r.conn.CreateRoom(context.Background(), uint32(2+i))
		})
	}
	time.Sleep(200 * time.Millisecond)
	px.setRefuse(false)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "request %d", i)
	}
	assert.Len(t, ts.lob.List(), 5, fmt.Sprintf("each request handled once: %v", ts.lob.List()))
}

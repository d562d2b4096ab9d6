package gateway

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/room"
)

// cheater is a raw client in a room that sends its inputs on a schedule
// of its own.
type cheater struct {
	name      string
	c         *wstest.Conn
	id        sim.PlayerID
	joinTick  uint32
	closeCode chan uint16
	// perTick is how many new inputs it sends at its n-th tick (from 0).
	perTick func(n int) int
	wantCut bool // whether it must be closed with RATE_LIMITED
}

func joinCheater(t *testing.T, ts *testServer, roomID string, ch *cheater) {
	t.Helper()
	c := rawClient(t, ts, true)
	require.NoError(t, c.Binary(netcode.Marshal(&sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_JoinRoom{
		JoinRoom: &sessionpb.JoinRoom{RoomId: roomID}}})))
	for ch.id == 0 {
		m, err := c.Read(3 * time.Second)
		require.NoError(t, err)
		var sm sessionpb.ServerMessage
		if proto.Unmarshal(m.Payload, &sm) == nil && sm.GetJoined() != nil {
			ch.id = sim.PlayerID(sm.GetJoined().GetPlayerId())
			ch.joinTick = sm.GetJoined().GetTick()
		}
	}
	ch.c = c
	ch.closeCode = make(chan uint16, 1)
	go func() {
		m, err := c.ReadUntilClose(10*time.Second, nil)
		if err != nil {
			ch.closeCode <- 0
			return
		}
		ch.closeCode <- m.CloseCode()
	}()
}

// play sends the cheater's inputs (all moving along dir) at 60 Hz ticks
// until ctx ends or the connection breaks.
func (ch *cheater) play(ctx context.Context, dir sim.Buttons) {
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	seq := uint32(1)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		k := ch.perTick(n)
		for k > 0 {
			b := min(k, 32)
			buttons := make([]uint32, b)
			aims := make([]uint32, b)
			for i := range buttons {
				buttons[i] = uint32(dir)
			}
			if ch.c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: batch(seq, buttons, aims)}})) != nil {
				return
			}
			seq += uint32(b)
			k -= b
		}
	}
}

// clearDirection is the horizontal direction with the longest free run
// from p's spawn.
func clearDirection(p sim.Player) sim.Buttons {
	if p.X < sim.DefaultArena().Width/2 {
		return sim.ButtonRight
	}
	return sim.ButtonLeft
}

// nearestSpawn is the spawn point p started from.
func nearestSpawn(p sim.Player) sim.Point {
	best, bestD := sim.Point{}, int64(-1)
	for _, s := range sim.DefaultArena().Spawns {
		dx, dy := int64(s.X-p.X), int64(s.Y-p.Y)
		if d := dx*dx + dy*dy; bestD < 0 || d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

// TestSpeedHackAndInputBanking seats an honest player and cheaters that
// send inputs at 1.2×, 2× and 10× the tick rate, or hold them back for a
// second and burst them, all walking in a straight line. At every snapshot
// no player is farther from its spawn than one move per tick since it
// joined (what an honest client sending one input a tick at best gets),
// and the flooders are closed with RATE_LIMITED.
func TestSpeedHackAndInputBanking(t *testing.T) {
	ts := startServer(t, room.Config{Seed: 7}, Config{})
	var mu sync.Mutex
	type seen struct {
		tick uint32
		x    int32
	}
	track := map[sim.PlayerID][]seen{}
	obs, err := client.Dial(context.Background(), client.Config{URL: ts.url, Name: "honest",
		OnSnapshot: func(s *client.Snapshot) {
			mu.Lock()
			for _, p := range stateOf(s.State).Players {
				track[p.ID] = append(track[p.ID], seen{s.Tick, p.X})
			}
			mu.Unlock()
		}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = obs.Close() })
	created, err := obs.CreateRoom(context.Background(), 0)
	require.NoError(t, err)
	j, err := obs.Join(context.Background(), created.GetId(), false)
	require.NoError(t, err)
	roomID := j.GetRoom().GetId()
	honestID, honestJoin := sim.PlayerID(j.GetPlayerId()), j.GetTick()

	cheaters := []*cheater{
		{name: "1.2x", perTick: func(n int) int { return 1 + boolInt(n%5 == 0) }},
		{name: "2x", perTick: func(int) int { return 2 }, wantCut: true},
		{name: "10x", perTick: func(int) int { return 10 }, wantCut: true},
		{name: "hold a second, then burst", perTick: func(n int) int {
			switch {
			case n < 60:
				return 0
			case n == 60:
				return 60
			}
			return 1
		}},
	}
	for _, ch := range cheaters {
		joinCheater(t, ts, roomID, ch)
	}
	// Wait until the observer has seen everyone once, at its spawn.
	ids := []sim.PlayerID{honestID}
	joinOf := map[sim.PlayerID]uint32{honestID: honestJoin}
	for _, ch := range cheaters {
		ids = append(ids, ch.id)
		joinOf[ch.id] = ch.joinTick
	}
	for _, id := range ids {
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(track[id]) > 0
		}, 2*time.Second, 5*time.Millisecond)
	}
	// Everyone walks from its spawn along its free horizontal direction.
	spawnOf := map[sim.PlayerID]sim.Point{}
	dirOf := func(id sim.PlayerID) sim.Buttons {
		mu.Lock()
		first := track[id][0]
		mu.Unlock()
		var sp sim.Point
		for _, s := range sim.DefaultArena().Spawns {
			if s.X == first.x {
				sp = s
			}
		}
		spawnOf[id] = nearestSpawn(sim.Player{X: first.x, Y: sp.Y})
		return clearDirection(sim.Player{X: first.x})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	honestDir := dirOf(honestID)
	wg.Go(func() {
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				if _, err := send(obs, sim.Input{Buttons: honestDir}); err != nil {
					return
				}
			}
		}
	})
	for _, ch := range cheaters {
		dir := dirOf(ch.id)
		wg.Go(func() { ch.play(ctx, dir) })
	}
	wg.Wait()

	speed := sim.NewRules(60).PlayerSpeed
	mu.Lock()
	defer mu.Unlock()
	farthest := map[sim.PlayerID]int32{}
	for _, id := range ids {
		sp := spawnOf[id]
		for _, s := range track[id] {
			d := s.x - sp.X
			if d < 0 {
				d = -d
			}
			farthest[id] = max(farthest[id], d)
			bound := int32(s.tick-joinOf[id]) * speed
			require.LessOrEqual(t, d, bound, "player %d at tick %d: %d from its spawn, more than one move per tick since it joined at %d", id, s.tick, d, joinOf[id])
		}
	}
	honestRun := farthest[honestID]
	assert.Greater(t, honestRun, 100*speed, "the honest player walked")
	for _, ch := range cheaters {
		t.Logf("%-26s walked %5d (honest %d)", ch.name, farthest[ch.id], honestRun)
		// Same walking time as the honest player, give or take its later
		// join: never farther than the honest player by more than that.
		lead := int32(ch.joinTick-honestJoin) * speed
		assert.LessOrEqual(t, farthest[ch.id], honestRun+max(lead, 0)+8*speed, "%s outran the honest player", ch.name)
		select {
		case cc := <-ch.closeCode:
			if ch.wantCut {
				assert.Equal(t, code(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED), cc, "%s closed with RATE_LIMITED", ch.name)
			} else {
				t.Errorf("%s was closed (%d) though it stayed within the rate", ch.name, cc)
			}
		default:
			assert.False(t, ch.wantCut, "%s was not cut", ch.name)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

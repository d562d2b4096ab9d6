package room

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
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
)

// quietConfig is c playing the arena (the engine's tests use it as a
// realistic game), without logs.
func quietConfig(c Config) Config {
	c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if c.Game == nil {
		c.Game = arena.Def
	}
	return c
}

// arenaInputs encodes arena inputs as a member submits them.
func arenaInputs(ins ...sim.Input) []game.Input {
	out := make([]game.Input, len(ins))
	for i, in := range ins {
		out[i] = game.Input{Data: arena.AppendInput(nil, in.Buttons, in.Aim), ViewTick: in.ViewTick}
	}
	return out
}

// playerIn reads player id out of an arena state (nil when absent).
func playerIn(t *game.Table, id game.PlayerID) *sim.Player {
	row := t.Get(arena.KindPlayer, uint32(id))
	if row == nil {
		return nil
	}
	p := arena.PlayerOf(uint32(id), row)
	return &p
}

// receiver plays a member's transport: it drains the outbox, decodes every
// frame and keeps the decoded world like a client would.
type receiver struct {
	t         *testing.T
	out       *outbox.Outbox
	batch     outbox.Batch
	snapshots []*sessionpb.Snapshot
	others    []*sessionpb.ServerMessage
	states    map[uint32]*game.Table
	latest    uint32
	dec       netcode.Decoder
	schema    *game.Schema // of the room's game; default the arena's
}

func newReceiver(t *testing.T) *receiver {
	return &receiver{t: t, out: outbox.New(0), states: map[uint32]*game.Table{}}
}

// drain takes and decodes everything pending.
func (r *receiver) drain() {
	r.t.Helper()
	r.out.Take(&r.batch)
	for _, f := range r.batch.Frames {
		var m sessionpb.ServerMessage
		require.NoError(r.t, proto.Unmarshal(f, &m))
		s := m.GetSnapshot()
		if s == nil {
			r.others = append(r.others, &m)
			continue
		}
		r.snapshots = append(r.snapshots, s)
		var base *game.Table
		if s.BaselineAge != 0 {
			base = r.states[s.Tick-s.BaselineAge]
			require.NotNil(r.t, base, "delta against a baseline this receiver never had")
		}
		schema := r.schema
		if schema == nil {
			schema = arena.Schema
		}
		st := game.NewTable(schema)
		require.NoError(r.t, r.dec.Decode(st, base, schema, s.Tick, s.State))
		r.states[s.Tick] = st
		r.latest = s.Tick
	}
}

func join(t *testing.T, r *Room, rc *receiver, spectate bool) *Member {
	t.Helper()
	m, err := r.Join(context.Background(), JoinRequest{Name: "p", Spectate: spectate, RequestID: 7, Out: rc.out})
	require.NoError(t, err)
	return m
}

func TestTickScheduleAndSnapshotRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{TickRate: 60, SnapshotRate: 30}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		rc := newReceiver(t)
		join(t, r, rc, false)
		synctest.Wait() // let the tick that seated us finish, so start is not racing it
		start := r.Info().Tick
		for range 300 {
			time.Sleep(time.Second / 30)
			synctest.Wait()
			rc.drain()
		}
		// Drift-free: exactly 600 ticks and 300 snapshots in ten seconds.
		assert.Equal(t, uint32(600), r.Info().Tick-start)
		assert.Len(t, rc.snapshots, 300)
		require.NotEmpty(t, rc.others)
		assert.NotNil(t, rc.others[0].GetJoined(), "Joined comes before anything else")
		assert.Equal(t, uint32(7), rc.others[0].GetRequestId())
	})
}

func TestDeltasFollowAcknowledgements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		rcs := []*receiver{newReceiver(t), newReceiver(t), newReceiver(t)}
		var ms []*Member
		for _, rc := range rcs {
			ms = append(ms, join(t, r, rc, false))
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		for i, rc := range rcs {
			rc.drain()
			require.NotEmpty(t, rc.snapshots)
			assert.Zero(t, rc.snapshots[0].BaselineAge, "the first snapshot is full")
			ms[i].Ack(rc.latest)
		}
		encodes := r.Info().Encodes
		time.Sleep(time.Second / 30)
		synctest.Wait()
		// All three acknowledged the same tick: one encoding served them all.
		assert.Equal(t, encodes+1, r.Info().Encodes)
		for i, rc := range rcs {
			acked := rc.latest
			n := len(rc.snapshots)
			rc.drain()
			require.Greater(t, len(rc.snapshots), n)
			s := rc.snapshots[n]
			assert.Equal(t, acked, s.Tick-s.BaselineAge, "receiver %d: delta from what it acknowledged", i)
		}
		// The decoded states equal the room's own history.
		rc := rcs[0]
		held, _ := r.hist.find(rc.latest)
		assert.Equal(t, held.Hash(), rc.states[rc.latest].Hash())
	})
}

func TestFullSnapshotWhenBaselineIsGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{History: 4}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		rc := newReceiver(t)
		m := join(t, r, rc, false)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		rc.drain()
		m.Ack(rc.snapshots[0].Tick) // then fall behind: four snapshots later it is gone
		time.Sleep(time.Second)
		synctest.Wait()
		n := len(rc.snapshots)
		time.Sleep(time.Second / 30)
		synctest.Wait()
		rc.drain()
		assert.Zero(t, rc.snapshots[n].BaselineAge)
		assert.Positive(t, r.Info().FullSnaps)
	})
}

func TestInputsAreAppliedAndAcknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		rc := newReceiver(t)
		m := join(t, r, rc, false)
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		rc.drain()
		startX := playerIn(rc.states[rc.latest], m.PlayerID()).X
		dir := sim.ButtonRight
		if startX > sim.DefaultArena().Width/2 {
			dir = sim.ButtonLeft
		}
		for seq := uint32(1); seq <= 10; seq++ {
			m.Submit(seq, arenaInputs(sim.Input{Buttons: dir}))
			time.Sleep(time.Second / 60)
			synctest.Wait()
		}
		time.Sleep(time.Second / 30)
		synctest.Wait()
		rc.drain()
		last := rc.snapshots[len(rc.snapshots)-1]
		assert.GreaterOrEqual(t, last.InputAck, uint32(10))
		moved := playerIn(rc.states[last.Tick], m.PlayerID()).X - startX
		speed := sim.NewRules(60).PlayerSpeed
		// Ten inputs, then the last one repeated for up to four missing ticks.
		assert.GreaterOrEqual(t, abs32(moved), 10*speed)
		assert.LessOrEqual(t, abs32(moved), 14*speed)
	})
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestSlowMemberIsSkippedNotWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		fast, slow := newReceiver(t), newReceiver(t)
		join(t, r, fast, false)
		join(t, r, slow, false)
		for range 150 {
			time.Sleep(time.Second / 30)
			synctest.Wait()
			fast.drain()
		}
		assert.InDelta(t, 150, len(fast.snapshots), 1)
		assert.LessOrEqual(t, slow.out.Pending(), 3, "one snapshot and the roster frames, nothing more")
		assert.Greater(t, slow.out.Replaced(), uint64(140))
		slow.drain()
		require.Len(t, slow.snapshots, 1, "only the newest snapshot was kept")
		assert.Equal(t, fast.latest, slow.latest)
	})
}

func TestEmptyRoomClosesAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		closed := make(chan *Room, 1)
		r, err := New("r1", quietConfig(Config{EmptyGrace: 3 * time.Second}), func(r *Room) { closed <- r })
		require.NoError(t, err)
		rc := newReceiver(t)
		m := join(t, r, rc, false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		select {
		case <-r.Done():
			t.Fatal("a room with a member must not close")
		default:
		}
		m.Leave()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case <-r.Done():
			t.Fatal("closed before the grace period")
		default:
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		<-r.Done()
		assert.Equal(t, r, <-closed)
		_, err = r.Join(context.Background(), JoinRequest{Out: outbox.New(0)})
		assert.ErrorIs(t, err, ErrClosed)
	})
}

func TestCapacityAndSpectators(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{Capacity: 2}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		a := join(t, r, newReceiver(t), false)
		join(t, r, newReceiver(t), false)
		_, err = r.Join(context.Background(), JoinRequest{Out: outbox.New(0)})
		assert.ErrorIs(t, err, ErrFull)
		spec := join(t, r, newReceiver(t), true)
		assert.Zero(t, spec.PlayerID())
		assert.NotZero(t, a.PlayerID())
		info := r.Info()
		assert.Equal(t, 2, info.Players)
		assert.Equal(t, 1, info.Spectators)
		a.Leave()
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 1, r.Info().Players)
	})
}

func TestCloseTellsMembersWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{}), nil)
		require.NoError(t, err)
		rc := newReceiver(t)
		var why error
		_, err = r.Join(context.Background(), JoinRequest{Out: rc.out, OnRemoved: func(e error) { why = e }})
		require.NoError(t, err)
		r.Close(nil)
		<-r.Done()
		assert.ErrorIs(t, why, ErrShutdown)
		rc.drain()
		last := rc.others[len(rc.others)-1]
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED, last.GetError().GetCode())
		assert.False(t, last.GetError().GetFatal())
	})
}

func TestConfigValidation(t *testing.T) {
	tests := []Config{
		{TickRate: 5}, {TickRate: 60, SnapshotRate: 61}, {Capacity: 300}, {History: 1}, {EmptyGrace: -1},
	}
	for _, c := range tests {
		c.Game = arena.Def
		c.Fill()
		assert.ErrorIs(t, c.Validate(), ErrConfig, "%+v", c)
	}
	ok := Config{Game: arena.Def}
	ok.Fill()
	assert.NoError(t, ok.Validate())
	assert.Equal(t, 32, ok.History)
	noGame := Config{}
	noGame.Fill()
	assert.ErrorIs(t, noGame.Validate(), ErrConfig, "a room needs a game")
	_, err := New("x", Config{Game: arena.Def, TickRate: 1}, nil)
	assert.True(t, errors.Is(err, ErrConfig))
}

func TestFullSnapshotsMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{FullSnapshots: true}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		rc := newReceiver(t)
		m := join(t, r, rc, false)
		for range 10 {
			time.Sleep(time.Second / 30)
			synctest.Wait()
			rc.drain()
			m.Ack(rc.latest)
		}
		require.Len(t, rc.snapshots, 10)
		for _, s := range rc.snapshots {
			assert.Zero(t, s.BaselineAge)
		}
	})
}

// TestRoomsTickTogether: rooms created at different moments tick at no
// more than tickSlots instants of each period (a few timer wake-ups for all
// of them), each room always at the same one, on a drift-free schedule.
func TestRoomsTickTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		at := map[string][]time.Time{}
		cfg := quietConfig(Config{TickRate: 60, SnapshotRate: 30, OnTick: func(id string, _ time.Duration) {
			mu.Lock()
			at[id] = append(at[id], time.Now())
			mu.Unlock()
		}})
		const rooms = 12
		for i := range rooms {
			time.Sleep(time.Duration(7+5*i) * time.Millisecond) // off the tick grid
			r, err := New(fmt.Sprintf("room-%d", i), cfg, nil)
			require.NoError(t, err)
			defer r.Close(nil)
			join(t, r, newReceiver(t), false)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		period := time.Second / 60
		slots := map[time.Duration]bool{}
		for id, ticks := range at {
			require.Greater(t, len(ticks), 55, id)
			slot := ticks[0].Sub(ticks[0].Truncate(period))
			assert.Zero(t, slot%(period/tickSlots), "%s ticks on a slot of the period", id)
			for _, ts := range ticks {
				assert.Equal(t, slot, ts.Sub(ts.Truncate(period)), "%s keeps its slot", id)
			}
			slots[slot] = true
		}
		assert.Len(t, at, rooms)
		assert.LessOrEqual(t, len(slots), tickSlots, "%d rooms tick at a few instants of the period", rooms)
	})
}

package room

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/games/arena/sim"
)

// TestFrozenRoomMovesWithItsBaseline: a frozen room's last snapshot is of
// the tick it stopped at; restored elsewhere with RestoreWith, it goes on
// from that tick, the members' frames go to the outboxes given, and a
// member that acknowledges the frozen tick gets a delta from it at once.
// Inputs applied before the freeze are not applied again.
func TestFrozenRoomMovesWithItsBaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("moving", quietConfig(Config{}), nil)
		require.NoError(t, err)
		a, b := newReceiver(t), newReceiver(t)
		ma := join(t, r, a, false)
		join(t, r, b, true)
		for i := range uint32(20) {
			ma.Submit(i+1, arenaInputs(sim.Input{Buttons: sim.ButtonRight}))
			time.Sleep(time.Second / 60)
			synctest.Wait()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		a.drain()
		b.drain()
		f, err := r.Freeze(context.Background())
		require.NoError(t, err)
		require.Len(t, f.Members, 2)
		assert.Equal(t, uint32(20), f.Members[0].InputHigh(), "every input applied, none queued")
		a.drain()
		require.NotEmpty(t, a.snapshots)
		assert.Equal(t, f.Tick, a.snapshots[len(a.snapshots)-1].Tick, "the last snapshot is of the frozen tick")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, f.Tick, r.Info().Tick, "a frozen room does not tick")
		f.Release()
		<-r.Done()
		a.drain()
		for _, m := range a.others {
			assert.Nil(t, m.GetError(), "a moved room tells its members nothing: %v", m)
		}

		a2, b2 := newReceiver(t), newReceiver(t)
		a2.states, a2.latest = a.states, a.latest // the client keeps what it decoded
		outs := []*receiver{a2, b2}
		r2, err := RestoreWith("moving", quietConfig(Config{}), f.Saved, nil, func(i int, m *Member) Wiring {
			return Wiring{Out: outs[i].out}
		})
		require.NoError(t, err)
		defer r2.Close(nil)
		assert.Equal(t, f.Tick, r2.Info().Tick)
		m2 := r2.members[0] // not started yet: read before the first tick
		m2.Ack(f.Tick)
		assert.Equal(t, uint32(20), m2.InputHigh())
		assert.Equal(t, 1, m2.Submit(20, arenaInputs(sim.Input{})).Stale, "an input applied before the move is not applied again")
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		a2.drain()
		require.NotEmpty(t, a2.snapshots)
		first := a2.snapshots[0]
		assert.Greater(t, first.Tick, f.Tick)
		assert.Equal(t, f.Tick, first.Tick-first.BaselineAge, "the first snapshot after the move is a delta from the frozen tick")
		assert.Equal(t, uint32(20), first.InputAck)
	})
}

// TestThawedRoomTicksOn: a hand-off that fails thaws the room, which
// ticks on with its members.
func TestThawedRoomTicksOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("staying", quietConfig(Config{}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		a := newReceiver(t)
		join(t, r, a, false)
		time.Sleep(time.Second)
		synctest.Wait()
		f, err := r.Freeze(context.Background())
		require.NoError(t, err)
		f.Thaw()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Greater(t, r.Info().Tick, f.Tick+30)
		assert.Equal(t, 1, r.Info().Players)
	})
}

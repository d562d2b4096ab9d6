package room

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode/outbox"
)

// TestRosterAtMostOncePerTick: strangers joining and leaving a room (as
// spectators and as players) by the dozen within each tick cost each
// member at most one Roster per tick, none at all when only spectators
// come and go, and every newcomer still gets its Roster after Joined.
func TestRosterAtMostOncePerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{TickRate: 60, SnapshotRate: 30, Capacity: 64}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		honest := newReceiver(t)
		join(t, r, honest, false)
		synctest.Wait()
		honest.drain()
		rosters := func() int {
			honest.drain()
			n := 0
			for _, m := range honest.others {
				if m.GetRoster() != nil {
					n++
				}
			}
			honest.others = honest.others[:0]
			return n
		}
		require.Equal(t, 1, rosters(), "the own join")

		churn := func(spectate bool) {
			var wg = make(chan struct{}, 16)
			for range 16 {
				go func() {
					defer func() { wg <- struct{}{} }()
					rc := newReceiver(t)
					m, err := r.Join(context.Background(), JoinRequest{Name: "x", Spectate: spectate, Out: rc.out})
					if err != nil {
						return
					}
					rc.drain()
					m.Leave()
				}()
			}
			for range 16 {
				<-wg
			}
		}
		start := r.Info().Tick
		for range 20 {
			churn(true)
		}
		synctest.Wait()
		assert.Zero(t, rosters(), "spectators coming and going change no player list")

		start = r.Info().Tick
		for range 20 {
			churn(false)
		}
		time.Sleep(time.Second / 60)
		synctest.Wait()
		ticks := int(r.Info().Tick - start)
		got := rosters()
		assert.Positive(t, got)
		assert.LessOrEqual(t, got, ticks, "at most one roster a tick (%d ticks)", ticks)

		// A newcomer whose join changes nothing (a spectator) still gets one.
		watcher := newReceiver(t)
		join(t, r, watcher, true)
		time.Sleep(time.Second / 60)
		synctest.Wait()
		watcher.drain()
		require.GreaterOrEqual(t, len(watcher.others), 2)
		assert.NotNil(t, watcher.others[0].GetJoined())
		assert.NotNil(t, watcher.others[1].GetRoster(), "Roster right after Joined")
	})
}

// TestRosterOfAHeldMemberIsCoalesced: a member whose transport is gone
// (its outbox detached) holds one roster, however often the room changes.
func TestRosterOfAHeldMemberIsCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{Capacity: 64}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		held := outbox.NewLimits(outbox.Limits{Frames: 8})
		l := outbox.NewLink()
		held.Attach(l, 0)
		_, err = r.Join(context.Background(), JoinRequest{Name: "held", Out: held})
		require.NoError(t, err)
		l.Close(nil, nil) // the connection is lost; the seat is held
		for range 100 {
			rc := newReceiver(t)
			m := join(t, r, rc, false)
			m.Leave()
			time.Sleep(time.Second / 60)
		}
		synctest.Wait()
		assert.False(t, held.Closed(), "the held member is still seated")
		assert.LessOrEqual(t, held.Unacked(), 2, "Joined and one roster")
		sup, _ := held.Compacted()
		assert.Positive(t, sup)
	})
}

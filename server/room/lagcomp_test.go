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

// TestShotsAreJudgedAtTheShootersViewTick plays lag compensation through a
// real room: the target stands in the shooter's line of fire at tick
// aligned, then walks away; nine ticks later the shooter fires. With the
// view tick of the moment it saw the target in line (well within the 12-tick
// bound) the shot hits; without one it misses where the target is now.
func TestShotsAreJudgedAtTheShootersViewTick(t *testing.T) {
	tests := []struct {
		name    string
		useView bool
		want    uint8
	}{
		{"no view tick: judged in the present, miss", false, 100},
		{"view tick of the aligned moment: hit", true, 75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := New("lc", quietConfig(Config{TickRate: 60, SnapshotRate: 60}), nil)
				require.NoError(t, err)
				defer r.Close(nil)
				rcA, rcB := newReceiver(t), newReceiver(t)
				shooter, target := join(t, r, rcA, false), join(t, r, rcB, false)
				time.Sleep(50 * time.Millisecond)
				synctest.Wait()

				placed := make(chan uint32, 1)
				require.NoError(t, r.post(context.Background(), func() {
					w := r.match.(interface{ World() *sim.World }).World()
					a, b := w.Player(sim.PlayerID(shooter.PlayerID())), w.Player(sim.PlayerID(target.PlayerID()))
					a.X, a.Y = 300*sim.Scale, 200*sim.Scale
					b.X, b.Y = 330*sim.Scale, 200*sim.Scale
					placed <- w.Tick + 1 // runs before this tick's Step; nobody moves in it
				}))
				aligned := <-placed
				synctest.Wait()

				tick := time.Second / 60
				seq := uint32(0)
				walk := func(n int) {
					for range n {
						seq++
						target.Submit(seq, arenaInputs(sim.Input{Buttons: sim.ButtonDown}))
						time.Sleep(tick)
						synctest.Wait()
					}
				}
				walk(8)
				shot := sim.Input{Buttons: sim.ButtonFire, Aim: 0}
				if tc.useView {
					shot.ViewTick = aligned
				}
				shooter.Submit(1, arenaInputs(shot))
				walk(20)
				rcB.drain()
				me := playerIn(rcB.states[rcB.latest], target.PlayerID())
				require.NotNil(t, me)
				assert.Greater(t, me.Y, int32(200*sim.Scale+20*27), "the target walked away")
				assert.Equal(t, tc.want, me.Health)
			})
		})
	}
}

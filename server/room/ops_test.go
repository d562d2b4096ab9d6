package room

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// BenchmarkTickMetrics is the cost of metrics on the tick path, measured
// inside one room: the 16-player fight of BenchmarkTick16, with
// Config.Totals switched on and off in blocks of two ticks (each block
// holds one snapshot tick and one without), so that both states run the
// same game, in the same memory, on the same machine at the same moment.
// Each tick is followed by the room's bookkeeping (record, publishView) on
// a simulated 60 Hz clock, as in the room goroutine. It reports the mean of
// tick + bookkeeping with metrics off and on, as medians (off-p50-ns,
// on-p50-ns, robust to a preempted tick on a shared machine), and the
// difference as a share of the tick (overhead-%). metrics=aa is the
// control: both halves off, so its overhead-% is the method's own error.
func BenchmarkTickMetrics(b *testing.B) {
	for _, aa := range []bool{false, true} {
		name := "metrics=ab"
		if aa {
			name = "metrics=aa"
		}
		b.Run(name, func(b *testing.B) {
			totals := &Totals{}
			f := newFightWith(b, 16, Config{Totals: totals})
			period := time.Second / 60
			clock := time.Now()
			offD := make([]time.Duration, 0, 1<<20)
			onD := make([]time.Duration, 0, 1<<20)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				on := i%4 < 2
				f.r.cfg.Totals = nil
				if on && !aa {
					f.r.cfg.Totals = totals
				}
				f.play()
				clock = clock.Add(period)
				t0 := time.Now()
				f.r.tick()
				f.r.record(clock, time.Since(t0), period)
				f.r.publishView(clock)
				d := time.Since(t0)
				if on {
					onD = append(onD, d)
				} else {
					offD = append(offD, d)
				}
			}
			b.StopTimer()
			median := func(ds []time.Duration) float64 {
				slices.Sort(ds)
				return float64(ds[len(ds)/2].Nanoseconds())
			}
			off, onNs := median(offD), median(onD)
			b.ReportMetric(off, "off-p50-ns")
			b.ReportMetric(onNs, "on-p50-ns")
			b.ReportMetric(100*(onNs-off)/off, "overhead-%")
		})
	}
}

// BenchmarkMetricsPerTick is the metrics work alone for one tick of the
// same room: one tick duration and, on average, eight snapshot frames (16
// members, a snapshot every other tick) counted, plus a sixtieth of a
// flush to Totals.
func BenchmarkMetricsPerTick(b *testing.B) {
	r, err := newRoom("bench", quietConfig(Config{Totals: &Totals{}}), nil)
	require.NoError(b, err)
	now := time.Now()
	i := 0
	for b.Loop() {
		r.tally.tick(time.Duration(i%4000) * time.Microsecond)
		for k := range 8 {
			r.tally.frame(40 + k*20)
		}
		if i++; i%60 == 0 {
			now = now.Add(time.Second)
			r.flush(now)
		}
	}
}

// play submits one input per player and acknowledges what each member
// received, like step, without running the tick.
func (f *fight) play() {
	f.submit()
	f.receive()
}

func TestTotalsAgreeWithRoomCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tot := &Totals{}
		r, err := New("r1", quietConfig(Config{TickRate: 60, SnapshotRate: 30, Totals: tot}), nil)
		require.NoError(t, err)
		rc := newReceiver(t)
		join(t, r, rc, false)
		var snapBytes uint64
		var msg sessionpb.ServerMessage
		for range 90 {
			time.Sleep(time.Second / 30)
			synctest.Wait()
			rc.out.Take(&rc.batch)
			for _, f := range rc.batch.Frames {
				require.NoError(t, proto.Unmarshal(f, &msg))
				if msg.GetSnapshot() != nil {
					snapBytes += uint64(len(f))
				}
			}
		}
		r.Close(nil)
		<-r.Done()
		info := r.Info()
		assert.Equal(t, info.Snapshots, tot.Snapshots.Load())
		assert.Equal(t, info.FullSnaps, tot.FullSnapshots.Load())
		assert.Equal(t, info.Encodes, tot.Encodes.Load())
		assert.InDelta(t, 90, float64(tot.Snapshots.Load()), 3, "30 snapshots a second for 3 s")
		assert.InDelta(t, 180, float64(tot.Ticks.Load()), 3)
		var buckets, sizes uint64
		for i := range tot.TickBucket {
			buckets += tot.TickBucket[i].Load()
		}
		for i := range tot.SnapshotBucket {
			sizes += tot.SnapshotBucket[i].Load()
		}
		assert.Equal(t, tot.Ticks.Load(), buckets, "every tick lands in one bucket")
		assert.Equal(t, tot.Snapshots.Load(), sizes, "every snapshot frame lands in one bucket")
		assert.Equal(t, snapBytes, tot.SnapshotBytes.Load(), "snapshot bytes offered = bytes received (nothing replaced)")
		assert.Equal(t, info.SnapshotBytes, tot.SnapshotBytes.Load())
	})
}

func TestOverloadIsSustainedOverruns(t *testing.T) {
	r, err := newRoom("r1", quietConfig(Config{TickRate: 60}), nil)
	require.NoError(t, err)
	period := time.Second / 60
	now := time.Now().Add(-10 * time.Second)
	second := func(slow int) {
		for i := range 60 {
			d := period / 2
			if i < slow {
				d = 2 * period
			}
			now = now.Add(period)
			r.record(now, d, period)
		}
	}
	second(0)
	second(3) // 5%: not overloaded
	assert.Zero(t, r.Info().OverloadedFor)
	second(30)
	second(30)
	second(30)
	assert.Greater(t, r.Info().OverloadedFor, 2*time.Second, "overloaded since the first slow second")
	second(0)
	second(0)
	assert.Zero(t, r.Info().OverloadedFor, "a good second ends it")
}

func TestWatchPublishesViewsOnlyWhileWatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("r1", quietConfig(Config{TickRate: 60, SnapshotRate: 30}), nil)
		require.NoError(t, err)
		defer r.Close(nil)
		a, b := newReceiver(t), newReceiver(t)
		join(t, r, a, false)
		join(t, r, b, false)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Nil(t, r.Watch(), "no view before anyone watched")
		assert.Equal(t, []string{"p", "p"}, r.Roster())
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		v := r.Watch()
		require.NotNil(t, v)
		assert.Equal(t, "r1", v.Room)
		assert.Equal(t, "arena", v.Game)
		require.Len(t, v.Names, 2)
		assert.Equal(t, "p", v.Names[1])
		require.NotNil(t, v.Sketch, "the arena sketches its state")
		walls, labelled := 0, 0
		for _, sh := range v.Sketch.Shapes {
			if sh.Kind == "rect" && sh.Color == "#5a6478" {
				walls++
			}
			if sh.Player != 0 {
				labelled++
			}
		}
		assert.Equal(t, 9, walls, "the walls")
		assert.Equal(t, 2, labelled, "one labelled shape per player")
		// Views keep coming at about 15 a second while watched.
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		v2 := r.Watch()
		assert.Greater(t, v2.Tick, v.Tick)
		assert.InDelta(t, 12, int(v2.Tick-v.Tick), 4, "a view every 4 ticks at 60 Hz")
		// Unwatched, the room stops and drops its last view.
		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Nil(t, r.view.Load())
		a.drain()
		b.drain()
	})
}

// TestTickWithMetricsAllocatesNothing: counting for metrics (and flushing
// to Totals) adds no allocation to a steady-state tick.
func TestTickWithMetricsAllocatesNothing(t *testing.T) {
	f := newFightWith(t, 16, Config{Totals: &Totals{}})
	now := time.Now()
	i := 0
	allocs := testing.AllocsPerRun(600, func() {
		f.step(nil)
		f.r.tally.tick(time.Millisecond)
		if i++; i%60 == 0 {
			now = now.Add(time.Second)
			f.r.flush(now)
		}
	})
	assert.Zero(t, allocs)
	assert.Positive(t, f.r.cfg.Totals.Snapshots.Load())
}

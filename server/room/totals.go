package room

import (
	"sync/atomic"
	"time"
)

// TickBuckets are the upper bounds of the tick-duration histogram in
// Totals; a last bucket holds longer ticks. They bracket the 16.7 ms budget
// of a 60 Hz room.
var TickBuckets = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond,
	16 * time.Millisecond, 33 * time.Millisecond, 100 * time.Millisecond,
}

// SnapshotBuckets are the upper bounds, in bytes, of the snapshot-frame size
// histogram in Totals; a last bucket holds larger frames.
var SnapshotBuckets = [...]int{32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}

// Totals are counters summed over every room that shares them (Config.Totals),
// for metrics. Rooms add to them about once a second and when they close,
// from counts kept on their own goroutine, so a tick pays no atomic
// operation on memory other rooms write: a reader may lag by up to a second.
// Safe for concurrent use; the zero value is ready.
type Totals struct {
	Ticks     atomic.Uint64 // ticks run
	TickNanos atomic.Uint64 // their summed duration
	// TickBucket[i] counts ticks no longer than TickBuckets[i] and longer
	// than the bucket before (not cumulative); the last counts the rest.
	TickBucket    [len(TickBuckets) + 1]atomic.Uint64
	Overruns      atomic.Uint64 // ticks that took longer than the period
	Skipped       atomic.Uint64 // scheduled ticks skipped after overruns
	Snapshots     atomic.Uint64 // snapshot frames offered to members
	FullSnapshots atomic.Uint64 // of which full (no usable baseline)
	Encodes       atomic.Uint64 // state encodings, one per distinct baseline
	SnapshotBytes atomic.Uint64 // bytes of snapshot frames offered
	// SnapshotBucket counts snapshot frames by size like TickBucket.
	SnapshotBucket [len(SnapshotBuckets) + 1]atomic.Uint64
	InputsDropped  atomic.Uint64 // inputs dropped from full input queues
}

// tally is what a room counted since it last added to Totals, and what it
// had published then. Owned by the room goroutine.
type tally struct {
	ticks, tickNanos uint64
	tickBucket       [len(TickBuckets) + 1]uint64
	snapBytes        uint64
	snapBucket       [len(SnapshotBuckets) + 1]uint64

	// The room's own counters at the last flush.
	overruns, skipped, snapshots, full, encodes, inputsDropped uint64

	streakStart time.Time // first second of the current run of overloaded seconds
	lastTicks   uint64    // ticks run at the previous flush
	lastOver    uint64    // overruns at the previous flush
}

func (t *tally) tick(d time.Duration) {
	t.ticks++
	t.tickNanos += uint64(d)
	i := 0
	for i < len(TickBuckets) && d > TickBuckets[i] {
		i++
	}
	t.tickBucket[i]++
}

func (t *tally) frame(size int) {
	t.snapBytes += uint64(size)
	i := 0
	for i < len(SnapshotBuckets) && size > SnapshotBuckets[i] {
		i++
	}
	t.snapBucket[i]++
}

// overloadShare is the share of a second's ticks that must overrun for that
// second to count as overloaded.
const overloadShare = 0.1

// flush adds what the room counted since the last flush to its published
// counters and to Totals, and updates how long the room has been
// overloaded. It runs on the room goroutine, about once a second.
func (r *Room) flush(now time.Time) {
	t := &r.tally
	allTicks, allOver := uint64(r.durN), r.overruns.Load()
	ticks, over := allTicks-t.lastTicks, allOver-t.lastOver
	t.lastTicks, t.lastOver = allTicks, allOver
	if ticks > 0 && float64(over) > overloadShare*float64(ticks) {
		if t.streakStart.IsZero() {
			t.streakStart = now
		}
		r.overloadedSince.Store(t.streakStart.UnixNano())
	} else if ticks > 0 {
		t.streakStart = time.Time{}
		r.overloadedSince.Store(0)
	}
	r.snapshotBytes.Add(t.snapBytes)

	tot := r.cfg.Totals
	if tot != nil {
		tot.Ticks.Add(t.ticks)
		tot.TickNanos.Add(t.tickNanos)
		for i, n := range t.tickBucket {
			if n != 0 {
				tot.TickBucket[i].Add(n)
			}
		}
		for i, n := range t.snapBucket {
			if n != 0 {
				tot.SnapshotBucket[i].Add(n)
			}
		}
		tot.SnapshotBytes.Add(t.snapBytes)
		diff := func(dst *atomic.Uint64, last *uint64, now uint64) {
			if now != *last {
				dst.Add(now - *last)
				*last = now
			}
		}
		diff(&tot.Overruns, &t.overruns, r.overruns.Load())
		diff(&tot.Skipped, &t.skipped, r.skipped.Load())
		diff(&tot.Snapshots, &t.snapshots, r.snapshots.Load())
		diff(&tot.FullSnapshots, &t.full, r.fullSnaps.Load())
		diff(&tot.Encodes, &t.encodes, r.encodes.Load())
		diff(&tot.InputsDropped, &t.inputsDropped, r.inputsDropped.Load())
	}
	t.ticks, t.tickNanos, t.snapBytes = 0, 0, 0
	clear(t.tickBucket[:])
	clear(t.snapBucket[:])
}

// overloadedFor is how long the room's ticks have kept overrunning (more
// than one in ten, every second); 0 when they do not.
func (r *Room) overloadedFor(now time.Time) time.Duration {
	since := r.overloadedSince.Load()
	if since == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, since)), time.Nanosecond)
}

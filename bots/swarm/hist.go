package swarm

import (
	"math"
	"time"
)

// Histogram counts durations: 10 µs buckets below 10 ms, 1 ms buckets up to
// 1 s, and one bucket above. It is not safe for concurrent use; merge
// per-goroutine histograms instead.
type Histogram struct {
	counts [fineBuckets + coarseBuckets + 1]uint64
	n      uint64
	max    time.Duration
}

const (
	fineBuckets   = 1000 // 0..10 ms by 10 µs
	coarseBuckets = 990  // 10 ms..1 s by 1 ms
)

func bucket(d time.Duration) int {
	us := d.Microseconds()
	switch {
	case us < 0:
		return 0
	case us < 10_000:
		return int(us / 10)
	case us < 1_000_000:
		return fineBuckets + int((us-10_000)/1000)
	}
	return fineBuckets + coarseBuckets
}

// upper returns the largest duration that falls into bucket i.
func upper(i int) time.Duration {
	switch {
	case i < fineBuckets:
		return time.Duration(i+1)*10*time.Microsecond - 1
	case i < fineBuckets+coarseBuckets:
		return 10*time.Millisecond + time.Duration(i-fineBuckets+1)*time.Millisecond - 1
	}
	return time.Duration(math.MaxInt64)
}

// Add counts one duration.
func (h *Histogram) Add(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of durations added.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest duration added.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns an upper bound of the q-quantile (0 < q ≤ 1), within one
// bucket; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

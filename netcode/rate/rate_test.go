package rate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name    string
		takes   []int // ms of each Take of one token
		wantOK  int   // how many were allowed
		wantCut bool  // whether any said cut
	}{
		{"burst allowed", []int{0, 0, 0, 0}, 4, false},
		{"past the burst refused", []int{0, 0, 0, 0, 0, 0}, 4, false},
		{"refill at the rate", []int{0, 0, 0, 0, 100, 200, 300}, 7, false},
		{"never banked beyond the burst", []int{0, 10000, 10000, 10000, 10000, 10000}, 5, false},
		{"a burst over the limit is not a flood", []int{0, 0, 0, 0, 1, 2, 3, 4, 5, 6}, 4, false},
		{"a flood over the window is cut", floodMs(0, 1100, 10), 4 + 11, true},
		// The bypass of issue 13: bursts spaced by more than any pause rule
		// (300 ms) at twice the rate on average.
		{"bursts spaced by pauses are cut on average", bursts(0, 3000, 300, 6), 4 + 30, true},
		{"the rate on average in bursts is not cut", bursts(0, 4800, 400, 4), 13 * 4, false},
		// An honest peer whose items arrive at once after a stall.
		{"a stall's backlog is refused past the burst, not cut", append(floodMs(0, 900, 100), bursts(2000, 2000, 1, 10)...), 10 + 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New(10, 4, time.Second)
			ok, cut := 0, false
			for _, ms := range tc.takes {
				o, c := l.Take(at(ms), 1)
				if o {
					ok++
				}
				cut = cut || c
			}
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantCut, cut)
		})
	}
}

// TestZeroWindowCutsAtTheFirstRefusal: the bad-input budget.
func TestZeroWindowCutsAtTheFirstRefusal(t *testing.T) {
	l := New(1, 3, 0)
	now := time.Unix(1, 0)
	for range 3 {
		ok, cut := l.Take(now, 1)
		assert.True(t, ok)
		assert.False(t, cut)
	}
	ok, cut := l.Take(now, 1)
	assert.False(t, ok)
	assert.True(t, cut)
}

func bursts(from, to, step, n int) []int {
	var out []int
	for ms := from; ms <= to; ms += step {
		for range n {
			out = append(out, ms)
		}
	}
	return out
}

func floodMs(from, to, step int) []int {
	var out []int
	for ms := from; ms <= to; ms += step {
		out = append(out, ms)
	}
	return out
}

func BenchmarkTake(b *testing.B) {
	b.ReportAllocs()
	l := New(1e9, 8, time.Second)
	now := time.Now()
	for i := 0; i < b.N; i++ {
		l.Take(now.Add(time.Duration(i)), 1)
	}
}

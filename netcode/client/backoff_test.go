package client

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffGrowsWithJitterUpToMax(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	rnd := rand.New(rand.NewPCG(1, 2))
	for n, ceiling := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		ceiling *= time.Millisecond
		if n >= 5 {
			ceiling = 2 * time.Second
		}
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(n, rnd)
			assert.GreaterOrEqual(t, d, ceiling/2, "attempt %d", n)
			assert.LessOrEqual(t, d, ceiling, "attempt %d", n)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 100, "attempt %d: jitter spreads clients apart", n)
	}
	assert.LessOrEqual(t, b.Delay(1000, rnd), 2*time.Second, "no overflow")
	var zero Backoff
	d := zero.Delay(0, rnd)
	assert.True(t, d >= 50*time.Millisecond && d <= 100*time.Millisecond, "defaults: %v", d)
}

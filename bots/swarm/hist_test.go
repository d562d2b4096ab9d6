package swarm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	assert.Equal(t, uint64(100), h.Count())
	assert.InDelta(t, 50*time.Millisecond, h.Quantile(0.5), float64(time.Millisecond))
	assert.InDelta(t, 99*time.Millisecond, h.Quantile(0.99), float64(time.Millisecond))
	assert.Equal(t, 100*time.Millisecond, h.Max())
	assert.Equal(t, 100*time.Millisecond, h.Quantile(1))

	var fine Histogram
	fine.Add(1234 * time.Microsecond)
	assert.InDelta(t, 1234*time.Microsecond, fine.Quantile(0.5), float64(10*time.Microsecond))

	var m Histogram
	m.Merge(&h)
	m.Merge(&fine)
	assert.Equal(t, uint64(101), m.Count())
	var empty Histogram
	assert.Zero(t, empty.Quantile(0.99))
	big := Histogram{}
	big.Add(3 * time.Second)
	assert.Equal(t, 3*time.Second, big.Quantile(0.5), "overflow bucket reports the max")
}

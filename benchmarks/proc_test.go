package main

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleProcSeesOwnCPU(t *testing.T) {
	a, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, a.rssBytes)
	end := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	b, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, b.cpuSeconds-a.cpuSeconds, 0.1, "busy loop of 0.3 s (x=%d)", x)
}

func TestTickHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	h := &tickHist{bounds: []float64{0.001, 0.002, 0.004, inf}, counts: []float64{50, 90, 100, 100}}
	assert.InDelta(t, 0.001, h.quantile(0.5), 1e-9)
	assert.InDelta(t, 0.0015, h.quantile(0.7), 1e-9)
	assert.InDelta(t, 0.0038, h.quantile(0.99), 1e-9)
	older := &tickHist{bounds: h.bounds, counts: []float64{50, 50, 50, 50}}
	d := h.sub(older)
	assert.Equal(t, []float64{0, 40, 50, 50}, d.counts)
	assert.InDelta(t, 0.002, d.quantile(0.8), 1e-9)
}

package main

import (
	"math"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSampleProcSeesOwnCPU compares what sampleProc reads from /proc with
// what the kernel reports to the process itself (getrusage) over the same
// busy loop: the two agree whatever share of a core the loop got on a busy
// machine.
func TestSampleProcSeesOwnCPU(t *testing.T) {
	rusage := func() float64 {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	a, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, a.rssBytes)
	ra := rusage()
	x := 0
	for rusage()-ra < 0.3 { // 0.3 s of CPU, however long that takes
		for range 100000 {
			x++
		}
	}
	rb := rusage()
	b, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	got, want := b.cpuSeconds-a.cpuSeconds, rb-ra
	assert.InDelta(t, want, got, 0.05+want/10, "busy loop of %.2f s of CPU (x=%d)", want, x)
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

// TestSampleProcCountsSystemCalls: a thousand writes and reads on a pipe
// and a hundred sleeps show up in the counts sampleProc reads.
func TestSampleProcCountsSystemCalls(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	a, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	buf := []byte{1}
	for range 1000 {
		_, err := w.Write(buf)
		require.NoError(t, err)
		_, err = r.Read(buf)
		require.NoError(t, err)
	}
	for range 100 {
		time.Sleep(100 * time.Microsecond)
	}
	b, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, b.writes-a.writes, int64(1000))
	assert.GreaterOrEqual(t, b.reads-a.reads, int64(1000))
	assert.GreaterOrEqual(t, b.switches-a.switches, int64(50), "sleeping threads switch")
}

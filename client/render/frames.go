package render

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// frameStats keeps frame timings for the -frame-stats report: the interval
// between two Draw calls (what a player sees), and the time spent in Update
// and in Draw (the client's own work per frame). The first two seconds are
// skipped (window creation, first join).
type frameStats struct {
	started   time.Time
	intervals []time.Duration
	updates   []time.Duration
	draws     []time.Duration
}

const frameWarmup = 2 * time.Second

func (f *frameStats) warm() bool {
	if f.started.IsZero() {
		f.started = time.Now()
	}
	return time.Since(f.started) >= frameWarmup
}

func (f *frameStats) addInterval(d time.Duration) {
	if f.warm() {
		f.intervals = append(f.intervals, d)
	}
}

func (f *frameStats) addUpdate(d time.Duration) {
	if f.warm() {
		f.updates = append(f.updates, d)
	}
}

func (f *frameStats) addDraw(d time.Duration) {
	if f.warm() {
		f.draws = append(f.draws, d)
	}
}

// Quantile returns the q-quantile (0..1) of ds (nearest rank), 0 when
// empty. It sorts a copy.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (f *frameStats) report(w io.Writer) {
	secs := 0.0
	for _, d := range f.intervals {
		secs += d.Seconds()
	}
	fps := 0.0
	if secs > 0 {
		fps = float64(len(f.intervals)) / secs
	}
	line := func(name string, ds []time.Duration) {
		fmt.Fprintf(w, "%s p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", name,
			msF(Quantile(ds, 0.5)), msF(Quantile(ds, 0.99)), msF(Quantile(ds, 1)))
	}
	fmt.Fprintf(w, "frames %d  fps %.1f\n", len(f.intervals), fps)
	line("frame interval", f.intervals)
	line("update", f.updates)
	line("draw", f.draws)
}

func msF(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// writeResults writes <scenario>.json, <scenario>.md and the plots.
func writeResults(o *options, res *Results) error {
	base := filepath.Join(o.out, o.scenario)
	raw, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(base+".json", append(raw, '\n'), 0o644); err != nil {
		return err
	}
	plots := []struct {
		file, title, y string
		value          func(Point) float64
		modes          []string
	}{
		{"cpu_per_player.png", "Server CPU per player", "ms of CPU per player-second",
			func(p Point) float64 { return p.CPUMsPerPlayerS }, []string{"game", "batched", "before", "colyseus", "naive", "floor"}},
		{"bytes_per_player.png", "Bytes down per player", "bytes per player-second",
			func(p Point) float64 { return p.BytesDown }, []string{"game", "batched", "before", "colyseus", "naive", "floor"}},
		{"tick_p99.png", "Tick duration p99", "ms (period 16.7)",
			func(p Point) float64 { return p.TickP99Ms }, []string{"game", "batched", "before", "colyseus", "naive"}},
		{"ack_p99.png", "Input to acknowledgement p99", "ms (target 35.3)",
			func(p Point) float64 { return p.AckP99Ms }, []string{"game", "batched", "before", "colyseus", "naive"}},
		{"syscalls_per_player.png", "Server read + write system calls per player", "calls per player-second",
			func(p Point) float64 { return p.Reads + p.Writes }, []string{"game", "batched", "before", "colyseus", "naive", "floor"}},
	}
	for _, pl := range plots {
		if err := linePlot(filepath.Join(o.out, o.scenario+"_"+pl.file), pl.title, pl.y, res.Points, pl.modes, pl.value); err != nil {
			return err
		}
	}
	return os.WriteFile(base+".md", []byte(markdown(o, res)), 0o644)
}

var modeColors = map[string]color.Color{
	"game":     color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"naive":    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"floor":    color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"before":   color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	"batched":  color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"colyseus": color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

func linePlot(path, title, ylabel string, pts []Point, modes []string, value func(Point) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "players"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	for _, mode := range modes {
		var xy plotter.XYs
		for _, pt := range pts {
			if pt.Mode == mode {
				xy = append(xy, plotter.XY{X: float64(pt.Players), Y: value(pt)})
			}
		}
		if len(xy) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		line.Color, points.Color = modeColors[mode], modeColors[mode]
		p.Add(line, points)
		p.Legend.Add(mode, line, points)
	}
	p.Legend.Top = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

func markdown(o *options, res *Results) string {
	var b strings.Builder
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	fmt.Fprintf(&b, "# %s\n\n", o.scenario)
	fmt.Fprintf(&b, "- machine: %s, %d CPUs (server on CPU %s with GOMAXPROCS=%d, load on CPU %s with GOMAXPROCS=%d)\n",
		cpuModel(), runtime.NumCPU(), o.serverCPU, o.serverProcs, o.loadCPU, o.loadProcs)
	fmt.Fprintf(&b, "- Go: %s, commit: %s, date: %s\n", runtime.Version(), strings.TrimSpace(string(commit)), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- command: `%s`\n", o.command)
	fmt.Fprintf(&b, "- scenario: %s; %d Hz ticks, %d Hz snapshots, 60 inputs/s per player (mode batched: %d inputs a frame), %v measured per point after all connected\n",
		o.sc.about, tickRate, snapshotRate, o.inputBatch, o.duration)
	if o.scenario == "rooms-64" {
		fmt.Fprintf(&b, "- view radius: %d world units (the arena is 1280×720)\n", o.viewRadius)
	}
	if o.loadSplit > 1 {
		fmt.Fprintf(&b, "- load: %d bot processes\n", o.loadSplit)
	}
	fmt.Fprintf(&b, "- machine load: load average %s at the end\n\n", loadAvg())
	fmt.Fprintf(&b, "**Capacity: %d players** (tick p99 %.2f ms at that load; a point fails when delivery < 95%%, tick p99 > 16.7 ms, or the load generator saturates its core). ",
		res.Capacity, res.CapacityTickP99Ms)
	fmt.Fprintf(&b, "Within the input→ack target (p99 ≤ 35.3 ms): %d players.\n\n", res.LatencyCapacity)
	if res.Bottleneck != "" {
		fmt.Fprintf(&b, "Where the sweep stopped: %s.\n\n", res.Bottleneck)
	}
	b.WriteString("| mode | players | CPU ms/player-s | ×floor | server / load cores | RSS/player | tick p50 / p99 ms | overruns | delivery | down B/s | up B/s | ack p50 / p99 ms |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	floor := map[int]float64{}
	for _, p := range res.Points {
		if p.Mode == "floor" {
			floor[p.Players] = p.CPUMsPerPlayerS
		}
	}
	for _, p := range res.Points {
		ratio := "—"
		if f := floor[p.Players]; f > 0 && p.Mode != "floor" {
			ratio = fmt.Sprintf("%.2f", p.CPUMsPerPlayerS/f)
		}
		ticks, ack := "—", "—"
		if p.Mode != "floor" {
			ticks = fmt.Sprintf("%.3f / %.3f", p.TickP50Ms, p.TickP99Ms)
			ack = fmt.Sprintf("%.1f / %.1f", p.AckP50Ms, p.AckP99Ms)
		}
		fmt.Fprintf(&b, "| %s | %d | %.3f | %s | %.2f / %.2f | %.1f KiB | %s | %.0f | %.1f%% | %.0f | %.0f | %s |\n",
			p.Mode, p.Players, p.CPUMsPerPlayerS, ratio, p.ServerCPU, p.LoadCPU, p.RSSPerPlayer/1024, ticks, p.Overruns,
			100*p.Delivery, p.BytesDown, p.BytesUp, ack)
	}
	b.WriteString("\nSystem calls and context switches of the server, per player-second (/proc/PID/io syscr and syscw, /proc/PID/task/*/status):\n\n")
	b.WriteString("| mode | players | reads | writes | context switches |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, p := range res.Points {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f |\n", p.Mode, p.Players, p.Reads, p.Writes, p.Switches)
	}
	if o.sc.watch {
		b.WriteString("\nThe desktop client core seated in the last room (client/core, walking; counted after a second to settle):\n\n")
		b.WriteString("| mode | players | predictions checked | corrections | frames interpolated | dry frames | interpolation delay ms | its down B/s |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, p := range res.Points {
			if w := p.Watch; w != nil {
				fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %.0f | %.0f |\n", p.Mode, p.Players, w.PredictionChecks, w.Corrections,
					w.InterpFrames, w.DryFrames, w.InterpDelayMs, w.DownBps)
			}
		}
	}
	b.WriteString("\nRatios from the same run:\n\n| players | naive/game bytes | naive/game CPU | game/floor CPU | batched/floor CPU | game/before bytes | game/before CPU | game/colyseus CPU | batched/colyseus CPU | colyseus/game bytes |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	by := map[string]map[int]Point{}
	for _, p := range res.Points {
		if by[p.Mode] == nil {
			by[p.Mode] = map[int]Point{}
		}
		by[p.Mode][p.Players] = p
	}
	for _, n := range o.sweep {
		g, ok := by["game"][n]
		if !ok {
			continue
		}
		cell := func(num, den float64) string {
			if den == 0 || num == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", num/den)
		}
		nv, fl, bf, bt, cy := by["naive"][n], by["floor"][n], by["before"][n], by["batched"][n], by["colyseus"][n]
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, cell(nv.BytesDown, g.BytesDown), cell(nv.CPUMsPerPlayerS, g.CPUMsPerPlayerS),
			cell(g.CPUMsPerPlayerS, fl.CPUMsPerPlayerS), cell(bt.CPUMsPerPlayerS, fl.CPUMsPerPlayerS), cell(g.BytesDown, bf.BytesDown), cell(g.CPUMsPerPlayerS, bf.CPUMsPerPlayerS),
			cell(g.CPUMsPerPlayerS, cy.CPUMsPerPlayerS), cell(bt.CPUMsPerPlayerS, cy.CPUMsPerPlayerS), cell(cy.BytesDown, g.BytesDown))
	}
	for _, f := range []string{"cpu_per_player", "bytes_per_player", "ack_p99", "syscalls_per_player", "tick_p99"} {
		fmt.Fprintf(&b, "\n![%s](%s_%s.png)", f, o.scenario, f)
	}
	b.WriteString("\n")
	return b.String()
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return runtime.GOARCH
}

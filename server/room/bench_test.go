package room

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// fight is a 16-player room driven the way the bots play: a direction held
// for about half a second, aim at the nearest opponent, about two shots a
// second. Members acknowledge every snapshot they receive, as clients on
// loopback do.
type fight struct {
	r       *Room
	members []*Member
	outs    []*outbox.Outbox
	batch   outbox.Batch
	rng     *rand.Rand
	moves   []sim.Buttons
	seq     uint32
	msg     sessionpb.ServerMessage
	in      [1]game.Input // scratch for one submitted input
	inBuf   []byte
	// When measure is set, the state sizes of member 0's delta snapshots.
	measure                bool
	deltaBytes, deltaCount int
}

func newFight(tb testing.TB, players int) *fight { return newFightWith(tb, players, Config{}) }

func newFightWith(tb testing.TB, players int, cfg Config) *fight {
	r, err := newRoom("bench", quietConfig(cfg), nil)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fight{r: r, rng: rand.New(rand.NewPCG(1, 2))}
	for range players {
		out := outbox.New(0)
		m := &Member{room: r, name: "bot", out: out}
		m.init()
		if err := r.add(m, 0); err != nil {
			tb.Fatal(err)
		}
		r.seats.Add(1)
		f.members = append(f.members, m)
		f.outs = append(f.outs, out)
		f.moves = append(f.moves, 0)
	}
	// Warm up: fill the snapshot history and every reusable buffer.
	for range 240 {
		f.step(nil)
	}
	return f
}

var benchDirections = []sim.Buttons{
	0, sim.ButtonUp, sim.ButtonDown, sim.ButtonLeft, sim.ButtonRight,
	sim.ButtonUp | sim.ButtonLeft, sim.ButtonUp | sim.ButtonRight,
	sim.ButtonDown | sim.ButtonLeft, sim.ButtonDown | sim.ButtonRight,
}

// step submits one input per player, runs one tick, and plays the clients
// (receive). If durations is not nil the tick's duration is appended.
func (f *fight) step(durations *[]time.Duration) {
	f.submit()
	t0 := time.Now()
	f.r.tick()
	if durations != nil {
		*durations = append(*durations, time.Since(t0))
	}
	f.receive()
}

// submit queues one input per player, the way the bots play.
func (f *fight) submit() {
	f.seq++
	w := f.world()
	for i, m := range f.members {
		if f.rng.IntN(30) == 0 {
			f.moves[i] = benchDirections[f.rng.IntN(len(benchDirections))]
		}
		in := sim.Input{Buttons: f.moves[i]}
		if self := w.Player(sim.PlayerID(m.player)); self != nil {
			in.Aim = aimAtNearest(w, self)
		}
		if f.rng.IntN(30) == 0 {
			in.Buttons |= sim.ButtonFire
		}
		f.inBuf = arena.AppendInput(f.inBuf[:0], in.Buttons, in.Aim)
		f.in[0] = game.Input{Data: f.inBuf}
		m.inputs.add(f.seq, f.in[:])
	}
}

// world is the arena match's world.
func (f *fight) world() *sim.World { return f.r.match.(interface{ World() *sim.World }).World() }

// receive drains every outbox and acknowledges what each member received,
// as clients on loopback do; with measure set it records member 0's delta
// sizes.
func (f *fight) receive() {
	for i, out := range f.outs {
		out.Take(&f.batch)
		if len(f.batch.Frames) == 0 {
			continue
		}
		last := f.batch.Frames[len(f.batch.Frames)-1]
		if i == 0 && f.measure {
			if err := proto.Unmarshal(last, &f.msg); err == nil && f.msg.GetSnapshot() != nil && f.msg.GetSnapshot().BaselineAge != 0 {
				f.deltaBytes += len(f.msg.GetSnapshot().State)
				f.deltaCount++
			}
		}
		f.members[i].Ack(f.r.ctx.Tick())
	}
}

func aimAtNearest(w *sim.World, self *sim.Player) uint16 {
	best, bx, by := int64(math.MaxInt64), int32(0), int32(0)
	for i := range w.Players {
		p := &w.Players[i]
		if p.ID == self.ID || !p.Alive() {
			continue
		}
		dx, dy := int64(p.X-self.X), int64(p.Y-self.Y)
		if d := dx*dx + dy*dy; d < best {
			best, bx, by = d, p.X, p.Y
		}
	}
	if best == math.MaxInt64 {
		return self.Aim
	}
	a := math.Atan2(float64(by-self.Y), float64(bx-self.X))
	return uint16(int(math.Round(a/(2*math.Pi)*sim.AimSteps)+sim.AimSteps) % sim.AimSteps)
}

// BenchmarkTick16 is one tick of a 16-player room at 60 Hz with 30 Hz
// snapshots: inputs, Step, and (every other tick) a delta for each member.
// It reports the p99 tick time as a share of the 16.7 ms period.
func BenchmarkTick16(b *testing.B) {
	f := newFight(b, 16)
	durations := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f.step(&durations)
	}
	b.StopTimer()
	slices.Sort(durations)
	p99 := durations[len(durations)*99/100]
	period := time.Second / 60
	b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns/tick")
	b.ReportMetric(100*float64(p99)/float64(period), "p99-%-of-period")
}

// BenchmarkSnapshotSizes16 reports the average delta snapshot (against the
// previous snapshot, which every member acknowledged) and the full snapshot
// of the same 16-player fight, in state bytes.
func BenchmarkSnapshotSizes16(b *testing.B) {
	f := newFight(b, 16)
	f.measure = true
	full := 0
	fulls := 0
	for b.Loop() {
		f.step(nil)
		if tick := f.r.ctx.Tick(); tick%2 == 0 {
			newest, _ := f.r.hist.find(tick)
			var enc netcode.Encoder
			full += len(enc.Append(nil, nil, nil, newest, nil))
			fulls++
		}
	}
	if f.deltaCount == 0 || fulls == 0 {
		b.Skip("too few iterations to measure sizes")
	}
	avgDelta := float64(f.deltaBytes) / float64(f.deltaCount)
	avgFull := float64(full) / float64(fulls)
	b.ReportMetric(avgDelta, "delta-bytes")
	b.ReportMetric(avgFull, "full-bytes")
	b.ReportMetric(100*avgDelta/avgFull, "delta-%-of-full")
}

// TestTickSteadyStateAllocatesNothingPerMember runs the fight with 4 and 16
// members and checks the allocations per tick do not grow with members.
func TestTickSteadyStateAllocatesNothingPerMember(t *testing.T) {
	perTick := func(players int) float64 {
		f := newFight(t, players)
		return testing.AllocsPerRun(600, func() { f.step(nil) })
	}
	small, large := perTick(4), perTick(16)
	if large > 0 || small > 0 {
		t.Errorf("steady-state ticks allocate: %.2f per tick with 4 members, %.2f with 16", small, large)
	}
}

// BenchmarkJoinLeave16 is what a seat changing hands costs the room's tick
// in a 16-player room: one member joins (Joined frame, roster to all) and
// leaves again (roster to all).
func BenchmarkJoinLeave16(b *testing.B) {
	f := newFight(b, 15)
	b.ReportAllocs()
	for b.Loop() {
		out := outbox.New(0)
		m := &Member{room: f.r, name: "guest", out: out}
		m.init()
		if err := f.r.add(m, 1); err != nil {
			b.Fatal(err)
		}
		f.r.remove(m, nil)
		var batch outbox.Batch
		out.Take(&batch)
		for _, o := range f.outs {
			o.Take(&batch)
		}
	}
}

// BenchmarkTick64 is one tick of a 64-player arena room, everyone seeing
// everything ("shared": one encoding per distinct baseline) and with an
// area of interest of 300 world units ("view300": one encoding per member,
// each a smaller state). It reports the state bytes member 0 receives per
// snapshot and the encodings per snapshot.
func BenchmarkTick64(b *testing.B) {
	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"shared", nil},
		{"view300", map[string]string{"view-radius": "300"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFightWith(b, 64, Config{Capacity: 64, Params: tc.params})
			f.measure = true
			f.deltaBytes, f.deltaCount = 0, 0
			snaps0, enc0 := f.r.snapshots.Load(), f.r.encodes.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f.step(nil)
			}
			b.StopTimer()
			if f.deltaCount > 0 {
				b.ReportMetric(float64(f.deltaBytes)/float64(f.deltaCount), "state-bytes/snapshot")
			}
			if n := f.r.snapshots.Load() - snaps0; n > 0 {
				b.ReportMetric(float64(f.r.encodes.Load()-enc0)/float64(n)*64, "encodes/snapshot")
			}
		})
	}
}

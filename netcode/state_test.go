package netcode

import (
	"encoding/hex"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
)

// testSchema has a mutable player kind, an immutable kind with a tick
// field, and a large sparse kind (a grid of cells).
var testSchema = &game.Schema{Kinds: []game.Kind{
	{Name: "player", Players: true, Fields: []game.Field{
		{Name: "x", Signed: true, Interpolate: true, Predicted: true},
		{Name: "y", Max: 100000, Interpolate: true, Predicted: true},
		{Name: "aim", Wrap: 1024, Interpolate: true, Predicted: true},
		{Name: "health", Max: 100},
		{Name: "score"},
	}},
	{Name: "shot", Immutable: true, Fields: []game.Field{
		{Name: "owner"},
		{Name: "born", Tick: true},
		{Name: "x", Signed: true},
		{Name: "y", Signed: true},
	}},
	{Name: "cell", Fields: []game.Field{{Name: "color", Max: 15}}},
}}

// world is a test state that evolves at random: players move and come and
// go, shots appear and vanish, cells get painted.
type world struct {
	rng     *rand.Rand
	tick    uint32
	players map[uint32][5]int64
	shots   map[uint32][4]int64
	cells   map[uint32]int64
	nextID  uint32
}

func newWorld(seed uint64) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, 1)), players: map[uint32][5]int64{}, shots: map[uint32][4]int64{}, cells: map[uint32]int64{}}
	for id := uint32(1); id <= 16; id++ {
		w.players[id] = [5]int64{int64(w.rng.IntN(2000)) - 1000, int64(w.rng.IntN(100000)), int64(w.rng.IntN(1024)), 100, 0}
	}
	return w
}

func (w *world) step() {
	w.tick++
	for _, id := range sortedKeys(w.players) { // in id order: the same world every run
		p := w.players[id]
		switch w.rng.IntN(10) {
		case 0:
		case 1:
			p[3] = int64(w.rng.IntN(101))
			p[4]++
		default:
			p[0] += int64(w.rng.IntN(41)) - 20
			p[1] = min(max(p[1]+int64(w.rng.IntN(41))-20, 0), 100000)
			p[2] = (p[2] + int64(w.rng.IntN(30))) % 1024
		}
		w.players[id] = p
	}
	if w.rng.IntN(60) == 0 && len(w.players) > 0 {
		ids := sortedKeys(w.players)
		delete(w.players, ids[w.rng.IntN(len(ids))])
	}
	if w.rng.IntN(60) == 0 {
		id := uint32(17 + w.rng.IntN(40))
		w.players[id] = [5]int64{int64(w.rng.IntN(2000)) - 1000, int64(w.rng.IntN(100000)), 0, 100, 0}
	}
	for _, id := range sortedKeys(w.shots) {
		if w.rng.IntN(20) == 0 {
			delete(w.shots, id)
		}
	}
	for range w.rng.IntN(3) {
		w.nextID++
		w.shots[w.nextID] = [4]int64{int64(1 + w.rng.IntN(16)), int64(w.tick), int64(w.rng.IntN(5000)) - 2500, int64(w.rng.IntN(5000))}
	}
	if w.rng.IntN(3) == 0 {
		w.cells[uint32(w.rng.IntN(4096))] = int64(w.rng.IntN(16))
	}
}

func (w *world) table() *game.Table {
	t := game.NewTable(testSchema)
	t.Tick = w.tick
	for _, id := range sortedKeys(w.players) {
		p := w.players[id]
		copy(t.Add(0, id), p[:])
	}
	for _, id := range sortedKeys(w.shots) {
		s := w.shots[id]
		copy(t.Add(1, id), s[:])
	}
	for _, id := range sortedKeys(w.cells) {
		t.Add(2, id)[0] = w.cells[id]
	}
	return t
}

func sortedKeys[V any](m map[uint32]V) []uint32 {
	ks := make([]uint32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j-1] > ks[j]; j-- {
			ks[j-1], ks[j] = ks[j], ks[j-1]
		}
	}
	return ks
}

// filter returns t as a member seeing through v (nil: everything) holds it.
func filter(t *game.Table, v *game.Visibility) *game.Table {
	out := game.NewTable(t.Schema)
	out.Tick = t.Tick
	for k := range t.Schema.Kinds {
		for i := range t.Len(k) {
			if v == nil || v.Visible(k, i) {
				copy(out.Add(k, t.ID(k, i)), t.Row(k, i))
			}
		}
	}
	return out
}

// radius shows the players within r of player self's x, every shot of an
// even owner, and the cells below id 2048.
func radius(t *game.Table, self uint32, r int64, v *game.Visibility) {
	v.Reset(t)
	me := t.Get(0, self)
	for i := range t.Len(0) {
		row := t.Row(0, i)
		if me == nil || (row[0]-me[0])*(row[0]-me[0]) < r*r {
			v.Show(0, i)
		}
	}
	for i := range t.Len(1) {
		if t.Row(1, i)[0]%2 == 0 {
			v.Show(1, i)
		}
	}
	for i := range t.Len(2) {
		if t.ID(2, i) < 2048 {
			v.Show(2, i)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	w := newWorld(1)
	var states []*game.Table
	for range 600 {
		w.step()
		states = append(states, w.table())
	}
	var enc Encoder
	var dec Decoder
	out := game.NewTable(testSchema)
	for i, target := range states {
		for _, back := range []int{0, 1, 2, 10, 100} {
			var base *game.Table
			if back > 0 {
				if i < back {
					continue
				}
				base = states[i-back]
			}
			data := enc.Append(nil, base, nil, target, nil)
			require.NoError(t, dec.Decode(out, base, testSchema, target.Tick, data), "state %d from %d back", i, back)
			require.True(t, out.Equal(target), "state %d from %d back", i, back)
			require.Equal(t, target.Tick, out.Tick)
		}
	}
}

// TestStateWithVisibility: a member sees a changing subset; its baseline is
// what it saw then, and every decode gives what it may see now.
func TestStateWithVisibility(t *testing.T) {
	w := newWorld(2)
	var enc Encoder
	var dec Decoder
	var prev *game.Table
	var prevVis, vis game.Visibility
	held := (*game.Table)(nil) // what the member holds: prev as seen through prevVis
	out := game.NewTable(testSchema)
	shown, total := 0, 0
	for range 500 {
		w.step()
		target := w.table()
		radius(target, 1, 600, &vis)
		data := enc.Append(nil, prev, &prevVis, target, &vis)
		require.NoError(t, dec.Decode(out, held, testSchema, target.Tick, data))
		want := filter(target, &vis)
		require.True(t, out.Equal(want), "tick %d", target.Tick)
		shown += out.Len(0)
		total += target.Len(0)
		held = game.NewTable(testSchema)
		held.CopyFrom(out)
		prev = target
		prevVis.CopyFrom(&vis)
	}
	assert.Less(t, shown, total, "the filter must hide someone, or the test proves nothing")
}

func TestStateHeaderPicksTheShorterForm(t *testing.T) {
	base := game.NewTable(testSchema)
	for id := uint32(0); id < 4096; id++ {
		base.Add(2, id)[0] = 1
	}
	one := game.NewTable(testSchema)
	one.CopyFrom(base)
	one.Row(2, 4000)[0] = 2
	var enc Encoder
	data := enc.Append(nil, base, nil, one, nil)
	// players: none, adds 0; shots: none, adds 0; cells: 2 entries as gaps
	// (header 2, gap 4000 in two bytes, mask, delta), adds 0.
	assert.Equal(t, []byte{0, 0, 0, 0, 2, 0xa0, 0x1f, 1, 2, 0}, data)

	all := game.NewTable(testSchema)
	all.CopyFrom(base)
	for i := range 4096 {
		all.Row(2, i)[0] = 3
	}
	data = enc.Append(nil, base, nil, all, nil)
	assert.Equal(t, 4+1+512+2*4096+1, len(data), "a bitmap when most entities change")

	var dec Decoder
	out := game.NewTable(testSchema)
	for _, target := range []*game.Table{one, all} {
		require.NoError(t, dec.Decode(out, base, nil, target.Tick, enc.Append(nil, base, nil, target, nil)))
		assert.True(t, out.Equal(target))
	}
}

func TestStateImmutableKindChangedIsResent(t *testing.T) {
	base := game.NewTable(testSchema)
	copy(base.Add(1, 5), []int64{1, 0, 10, 10})
	copy(base.Add(1, 6), []int64{1, 0, 20, 20})
	target := game.NewTable(testSchema)
	target.Tick = 3
	copy(target.Add(1, 5), []int64{1, 0, 10, 10})
	copy(target.Add(1, 6), []int64{2, 0, 20, 20}) // changed: not immutable after all
	var enc Encoder
	var dec Decoder
	out := game.NewTable(testSchema)
	require.NoError(t, dec.Decode(out, base, nil, 3, enc.Append(nil, base, nil, target, nil)))
	assert.True(t, out.Equal(target))
}

func TestStateRefusesMalformed(t *testing.T) {
	w := newWorld(3)
	w.step()
	base := w.table()
	w.step()
	target := w.table()
	var enc Encoder
	var dec Decoder
	good := enc.Append(nil, base, nil, target, nil)
	out := game.NewTable(testSchema)
	require.NoError(t, dec.Decode(out, base, testSchema, target.Tick, good))
	tests := map[string][]byte{
		"truncated":                good[:len(good)-1],
		"trailing byte":            append(append([]byte{}, good...), 0),
		"empty":                    {},
		"bitmap past the baseline": {1, 0xff, 0xff, 0xff},
		"too many gap entries":     {200, 1},
	}
	for name, data := range tests {
		assert.ErrorIs(t, dec.Decode(out, base, testSchema, target.Tick, data), ErrMalformedState, name)
	}
	// Values out of their field's range: health is at most 100.
	bad := enc.Append(nil, nil, nil, tableWith(func(t *game.Table) { t.Add(0, 1)[3] = 101 }), nil)
	assert.ErrorIs(t, dec.Decode(out, nil, testSchema, 1, bad), ErrMalformedState)
	// Two entities with one id.
	dup := []byte{0, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	assert.Error(t, dec.Decode(out, nil, testSchema, 1, dup))
}

func tableWith(fill func(*game.Table)) *game.Table {
	t := game.NewTable(testSchema)
	t.Tick = 1
	fill(t)
	return t
}

func TestStateEncodeAllocatesNothing(t *testing.T) {
	w := newWorld(4)
	var states []*game.Table
	for range 100 {
		w.step()
		states = append(states, w.table())
	}
	var enc Encoder
	var dec Decoder
	out := game.NewTable(testSchema)
	buf := make([]byte, 0, 64<<10)
	for i := 1; i < len(states); i++ { // grow the scratch
		buf = enc.Append(buf[:0], states[i-1], nil, states[i], nil)
		require.NoError(t, dec.Decode(out, states[i-1], nil, states[i].Tick, buf))
	}
	i := 1
	allocs := testing.AllocsPerRun(200, func() {
		buf = enc.Append(buf[:0], states[i-1], nil, states[i], nil)
		i = i%(len(states)-1) + 1
	})
	assert.Zero(t, allocs)
	allocs = testing.AllocsPerRun(200, func() {
		buf = enc.Append(buf[:0], states[i-1], nil, states[i], nil)
		_ = dec.Decode(out, states[i-1], nil, states[i].Tick, buf)
		i = i%(len(states)-1) + 1
	})
	assert.Zero(t, allocs)
}

// TestStateGolden pins the wire format: a change of encoding shows up as a
// diff of testdata/state.golden that someone reviews (go test -run
// TestStateGolden -update rewrites it).
func TestStateGolden(t *testing.T) {
	base := tableWith(func(t *game.Table) {
		copy(t.Add(0, 1), []int64{-5, 100, 1000, 100, 0})
		copy(t.Add(0, 2), []int64{7, 200, 0, 100, 3})
		copy(t.Add(1, 40), []int64{1, 1, -3, 4})
		t.Add(2, 9)[0] = 4
	})
	target := tableWith(func(t *game.Table) {
		t.Tick = 5
		copy(t.Add(0, 2), []int64{8, 199, 1, 100, 3})
		copy(t.Add(0, 3), []int64{0, 50, 0, 100, 0})
		copy(t.Add(1, 41), []int64{2, 4, 300, -300})
		t.Add(2, 9)[0] = 4
		t.Add(2, 4000)[0] = 15
	})
	var enc Encoder
	lines := []string{
		"full " + hex.EncodeToString(enc.Append(nil, nil, nil, target, nil)),
		"delta " + hex.EncodeToString(enc.Append(nil, base, nil, target, nil)),
	}
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "state.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func BenchmarkStateAppend16(b *testing.B) {
	w := newWorld(5)
	var states []*game.Table
	for range 200 {
		w.step()
		states = append(states, w.table())
	}
	var enc Encoder
	buf := make([]byte, 0, 4096)
	i := 1
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Append(buf[:0], states[i-1], nil, states[i], nil)
		i = i%(len(states)-1) + 1
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// FuzzStateDecode feeds arbitrary bytes to the state decoder against a real
// baseline. It must never panic, what it builds is bounded by its input,
// and what decodes re-encodes to something that decodes to the same.
func FuzzStateDecode(f *testing.F) {
	w := newWorld(11)
	var states []*game.Table
	for range 300 {
		w.step()
		states = append(states, w.table())
	}
	base := states[250]
	var enc Encoder
	f.Add(enc.Append(nil, base, nil, states[299], nil), true)
	f.Add(enc.Append(nil, nil, nil, states[299], nil), false)
	f.Add(enc.Append(nil, base, nil, base, nil), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, useBase bool) {
		var b *game.Table
		if useBase {
			b = base
		}
		var dec Decoder
		out := game.NewTable(testSchema)
		if err := dec.Decode(out, b, testSchema, 300, data); err != nil {
			return
		}
		total := 0
		for k := range testSchema.Kinds {
			total += out.Len(k)
		}
		require.LessOrEqual(t, total, 16+200+400+len(data))
		require.True(t, out.Sorted())
		var enc Encoder
		again := enc.Append(nil, b, nil, out, nil)
		out2 := game.NewTable(testSchema)
		require.NoError(t, dec.Decode(out2, b, testSchema, 300, again))
		require.True(t, out.Equal(out2))
	})
}

package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
)

// testSchema is a small game of the generic tests: movers (the player kind)
// and markers.
var testSchema = &game.Schema{Kinds: []game.Kind{
	{Name: "mover", Players: true, Fields: []game.Field{
		{Name: "x", Signed: true, Interpolate: true, Predicted: true},
		{Name: "angle", Wrap: 360, Interpolate: true, Predicted: true},
		{Name: "life", Jump: true},          // changes when the mover respawns
		{Name: "score"},                     // neither predicted nor interpolated
		{Name: "charge", Predicted: true},   // predicted, drawn as it is
		{Name: "label", Interpolate: false}, // drawn as the later state has it
	}},
	{Name: "marker", Fields: []game.Field{
		{Name: "v", Signed: true, Interpolate: true},
	}},
}}

// Field indices of testSchema's movers.
const (
	fX, fAngle, fLife, fScore, fCharge, fLabel = 0, 1, 2, 3, 4, 5
	kMover, kMarker                            = 0, 1
)

// testClient predicts a mover: input byte dx (signed) moves it by dx, turns
// it by 10·dx degrees and adds one to its charge.
type testClient struct{}

func (testClient) Predict(t *game.Table, self game.PlayerID, in game.Input, _ uint32) {
	row := t.Get(kMover, uint32(self))
	if row == nil || len(in.Data) != 1 {
		return
	}
	dx := int64(int8(in.Data[0]))
	row[fX] += dx
	row[fAngle] = ((row[fAngle]+10*dx)%360 + 360) % 360
	row[fCharge]++
}

// entity is one row of a test table.
type entity struct {
	kind int
	id   uint32
	vals []int64
}

func table(tick uint32, es ...entity) *game.Table {
	t := game.NewTable(testSchema)
	t.Tick = tick
	for _, e := range es {
		copy(t.Insert(e.kind, e.id), e.vals)
	}
	return t
}

func mover(id uint32, x, angle, life, score, charge, label int64) entity {
	return entity{kMover, id, []int64{x, angle, life, score, charge, label}}
}

func marker(id uint32, v int64) entity { return entity{kMarker, id, []int64{v}} }

// rows lists a table's entities, for comparing tables in assertions.
func rows(t *game.Table) []entity {
	var out []entity
	for k := range t.Schema.Kinds {
		for i := range t.Len(k) {
			out = append(out, entity{k, t.ID(k, i), append([]int64(nil), t.Row(k, i)...)})
		}
	}
	return out
}

func TestInterpolation(t *testing.T) {
	tests := []struct {
		name  string
		a, b  *game.Table
		alpha float64
		want  []entity
	}{
		{"interpolated fields glide, others take the later state",
			table(10, mover(1, 0, 10, 1, 5, 3, 7)), table(12, mover(1, 100, 30, 1, 6, 4, 8)), 0.25,
			[]entity{mover(1, 25, 15, 1, 6, 4, 8)}},
		{"rounded to the nearest integer, signed",
			table(10, mover(1, -10, 0, 1, 0, 0, 0)), table(12, mover(1, 11, 0, 1, 0, 0, 0)), 0.5,
			[]entity{mover(1, 1, 0, 1, 0, 0, 0)}},
		{"an angle crosses zero the short way (up)",
			table(10, mover(1, 0, 350, 1, 0, 0, 0)), table(12, mover(1, 0, 10, 1, 0, 0, 0)), 0.5,
			[]entity{mover(1, 0, 0, 1, 0, 0, 0)}},
		{"an angle crosses zero the short way (down)",
			table(10, mover(1, 0, 10, 1, 0, 0, 0)), table(12, mover(1, 0, 350, 1, 0, 0, 0)), 0.25,
			[]entity{mover(1, 0, 5, 1, 0, 0, 0)}},
		{"an angle stays within 0..wrap-1",
			table(10, mover(1, 0, 350, 1, 0, 0, 0)), table(12, mover(1, 0, 10, 1, 0, 0, 0)), 0.25,
			[]entity{mover(1, 0, 355, 1, 0, 0, 0)}},
		{"half a turn goes one way, not nowhere",
			table(10, mover(1, 0, 0, 1, 0, 0, 0)), table(12, mover(1, 0, 180, 1, 0, 0, 0)), 0.5,
			[]entity{mover(1, 0, 270, 1, 0, 0, 0)}},
		{"a jump is not interpolated: the earlier place until the later state",
			table(10, mover(1, 0, 90, 1, 0, 0, 0)), table(12, mover(1, 500, 180, 2, 1, 0, 0)), 0.9,
			[]entity{mover(1, 0, 90, 2, 1, 0, 0)}},
		{"at the later state a jump has happened",
			table(10, mover(1, 0, 90, 1, 0, 0, 0)), table(12, mover(1, 500, 180, 2, 1, 0, 0)), 1,
			[]entity{mover(1, 500, 180, 2, 1, 0, 0)}},
		{"a jump of one entity leaves the others gliding",
			table(10, mover(1, 0, 0, 1, 0, 0, 0), mover(2, 0, 0, 1, 0, 0, 0)),
			table(12, mover(1, 100, 0, 2, 0, 0, 0), mover(2, 100, 0, 1, 0, 0, 0)), 0.5,
			[]entity{mover(1, 0, 0, 2, 0, 0, 0), mover(2, 50, 0, 1, 0, 0, 0)}},
		{"an entity new in the later state shows its values; one gone is not shown",
			table(10, mover(1, 0, 0, 1, 0, 0, 0), mover(2, 40, 0, 1, 0, 0, 0)),
			table(12, mover(2, 80, 0, 1, 0, 0, 0), mover(3, 8, 20, 1, 0, 0, 0)), 0.5,
			[]entity{mover(2, 60, 0, 1, 0, 0, 0), mover(3, 8, 20, 1, 0, 0, 0)}},
		{"every kind is interpolated",
			table(10, marker(4, 10), marker(9, 0)), table(12, marker(4, 20), marker(9, -40)), 0.5,
			[]entity{marker(4, 15), marker(9, -20)}},
		{"one state: its values",
			table(10, mover(1, 3, 4, 1, 0, 0, 0)), nil, 0,
			[]entity{mover(1, 3, 4, 1, 0, 0, 0)}},
	}
	ip := newInterpolator(testSchema)
	var dst game.Table
	for _, tc := range tests {
		b := tc.b
		if b == nil {
			b = tc.a
		}
		ip.interpolate(&dst, tc.a, b, tc.alpha)
		assert.Equal(t, tc.want, rows(&dst), tc.name)
		assert.Equal(t, b.Tick, dst.Tick, tc.name)
	}
}

func TestLerpAndDelta(t *testing.T) {
	tests := []struct {
		a, b  int64
		alpha float64
		wrap  uint32
		want  int64
	}{
		{0, 10, 0.5, 0, 5},
		{10, 0, 0.5, 0, 5},
		{-100, 100, 0.75, 0, 50},
		{1020, 4, 0.5, 1024, 0},
		{4, 1020, 0.5, 1024, 0},
		{1000, 24, 0.25, 1024, 1012},
		{24, 1000, 0.5, 1024, 0},
		{0, 1023, 1, 1024, 1023},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, lerp(tc.a, tc.b, tc.alpha, tc.wrap), "%+v", tc)
	}
	assert.InDelta(t, -10, delta(5, 355, 360), 1e-9)
	assert.InDelta(t, 10, delta(355, 5, 360), 1e-9)
	assert.InDelta(t, 350, delta(5, 355, 0), 1e-9)
}

// TestCorrectionCounting: when a snapshot acknowledges an input, the
// server's own entity is compared with what was predicted after it. Only a
// snapshot in which nothing the game does not predict changed counts as a
// check; a check is a correction when a predicted field differs. Small
// corrections of fields both predicted and interpolated are smoothed (the
// short way round for angles); jumps never are.
func TestCorrectionCounting(t *testing.T) {
	// The base: mover 1 at x 0, angle 0, life 1; input 1 (dx +5) predicts
	// x 5, angle 50, charge 1.
	tests := []struct {
		name        string
		server      *game.Table // the snapshot that acks input 1
		ack         uint32
		checks      uint64
		corrections uint64
		off         []float64 // smoothing offset per mover field afterwards
		shown       []int64   // the own row as drawn afterwards
	}{
		{"as predicted", table(11, mover(1, 5, 50, 1, 0, 1, 0)), 1, 1, 0,
			[]float64{0, 0, 0, 0, 0, 0}, []int64{5, 50, 1, 0, 1, 0}},
		{"a predicted, interpolated field differs: a correction, smoothed",
			table(11, mover(1, 7, 50, 1, 0, 1, 0)), 1, 1, 1,
			[]float64{-2, 0, 0, 0, 0, 0}, []int64{5, 50, 1, 0, 1, 0}},
		{"an angle corrected across zero is smoothed the short way",
			table(11, mover(1, 5, 355, 1, 0, 1, 0)), 1, 1, 1,
			[]float64{0, 55, 0, 0, 0, 0}, []int64{5, 50, 1, 0, 1, 0}},
		{"a predicted field that is not interpolated: a correction, not smoothed",
			table(11, mover(1, 5, 50, 1, 0, 9, 0)), 1, 1, 1,
			[]float64{0, 0, 0, 0, 0, 0}, []int64{5, 50, 1, 0, 9, 0}},
		{"an unpredicted field changed too: no check, but the move is still smoothed",
			table(11, mover(1, 7, 50, 1, 1, 1, 0)), 1, 0, 0,
			[]float64{-2, 0, 0, 0, 0, 0}, []int64{5, 50, 1, 1, 1, 0}},
		{"a jump: no check, and shown at once",
			table(11, mover(1, 300, 90, 2, 0, 0, 0)), 1, 0, 0,
			[]float64{0, 0, 0, 0, 0, 0}, []int64{300, 90, 2, 0, 0, 0}},
		{"the own entity is gone: no check",
			table(11, mover(2, 5, 50, 1, 0, 1, 0)), 1, 0, 0,
			[]float64{0, 0, 0, 0, 0, 0}, nil},
		{"an ack of nothing sent: no check; the input is replayed on the server's state",
			table(11, mover(1, 2, 0, 1, 0, 0, 0)), 0, 0, 0,
			[]float64{-2, 0, 0, 0, 0, 0}, []int64{5, 50, 1, 0, 1, 0}},
	}
	for _, tc := range tests {
		p := newPredictor(testClient{}, testSchema, 1)
		p.snapshot(10, 0, table(10, mover(1, 0, 0, 1, 0, 0, 0)))
		p.sent(1, []byte{5}, 0)
		require.Equal(t, []int64{5, 50, 1, 0, 1, 0}, p.pred.Get(kMover, 1), tc.name)
		corrected := p.snapshot(11, tc.ack, tc.server)
		assert.Equal(t, tc.corrections == 1, corrected, tc.name)
		assert.Equal(t, tc.checks, p.checks, "%s: checks", tc.name)
		assert.Equal(t, tc.corrections, p.corrections, "%s: corrections", tc.name)
		assert.Equal(t, tc.off, p.off, "%s: smoothing offset", tc.name)
		assert.Equal(t, tc.shown, p.shown().Get(kMover, 1), "%s: drawn", tc.name)
		for range 60 {
			p.decay(1.0 / 60)
		}
		assert.False(t, p.smoothing(), "%s: the offset decays within a second", tc.name)
	}
}

// TestReplayPredictsPendingInputsAtTheirTicks: a snapshot that acks only
// some inputs replays the others on the server's state, input seq at tick
// baseTick+(seq-ack), and keeps the log of what it predicted for each.
func TestReplayPredictsPendingInputsAtTheirTicks(t *testing.T) {
	var ticks []uint32
	cl := predictFunc(func(tb *game.Table, self game.PlayerID, in game.Input, tick uint32) {
		ticks = append(ticks, tick)
		testClient{}.Predict(tb, self, in, tick)
	})
	p := newPredictor(cl, testSchema, 1)
	p.sent(1, []byte{1}, 7) // before any snapshot: only logged
	assert.Empty(t, ticks)
	p.snapshot(20, 0, table(20, mover(1, 100, 0, 1, 0, 0, 0)))
	assert.Equal(t, []uint32{21}, ticks, "the unacknowledged input is replayed on the first state")
	p.sent(2, []byte{1}, 7)
	p.sent(3, []byte{1}, 7)
	assert.Equal(t, []uint32{21, 22, 23}, ticks)
	assert.Equal(t, int64(103), p.pred.Get(kMover, 1)[fX])
	assert.Equal(t, uint32(3), p.pending())

	ticks = nil
	p.snapshot(24, 2, table(24, mover(1, 102, 20, 1, 0, 2, 0)))
	assert.Equal(t, []uint32{25}, ticks, "input 3 at base 24 + (3-2)")
	assert.Equal(t, int64(103), p.pred.Get(kMover, 1)[fX])
	assert.Equal(t, uint64(1), p.checks)
	assert.Zero(t, p.corrections)
	assert.Equal(t, uint32(1), p.pending())
}

type predictFunc func(t *game.Table, self game.PlayerID, in game.Input, tick uint32)

func (f predictFunc) Predict(t *game.Table, self game.PlayerID, in game.Input, tick uint32) {
	f(t, self, in, tick)
}

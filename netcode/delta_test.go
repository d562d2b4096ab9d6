package netcode

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/sim"
)

// stripInputs clears Player.In, which is not part of a snapshot.
func stripInputs(s *sim.State) *sim.State {
	var c sim.State
	c.CopyFrom(s)
	for i := range c.Players {
		c.Players[i].In = sim.Input{}
	}
	if c.Players == nil {
		c.Players = []sim.Player{}
	}
	if c.Projectiles == nil {
		c.Projectiles = []sim.Projectile{}
	}
	return &c
}

func roundTrip(t *testing.T, base, target *sim.State) *sim.State {
	t.Helper()
	data := AppendDelta(nil, base, target)
	out := &sim.State{Players: []sim.Player{}, Projectiles: []sim.Projectile{}}
	require.NoError(t, ApplyDelta(out, base, target.Tick, data))
	return out
}

// randomState builds an arbitrary (not necessarily playable) state: random
// subsets of ids, extreme field values, so the codec is tested beyond what
// the game produces.
func randomState(rng *rand.Rand, tick uint32) *sim.State {
	s := &sim.State{Tick: tick, NextProjectile: rng.Uint32()}
	pick := func(vals ...int64) int64 { return vals[rng.IntN(len(vals))] }
	for id := sim.PlayerID(1); id < 40; id++ {
		if rng.IntN(3) == 0 {
			continue
		}
		s.Players = append(s.Players, sim.Player{
			ID:          id * sim.PlayerID(1+rng.IntN(3)) / 1,
			X:           int32(pick(0, -1, math.MinInt32, math.MaxInt32, int64(rng.Int32N(10000)))),
			Y:           int32(pick(0, 5, math.MaxInt32, int64(rng.Int32N(10000)))),
			Aim:         uint16(rng.IntN(sim.AimSteps)),
			Health:      uint8(pick(0, 100, 255)),
			NextFire:    uint32(pick(0, int64(tick), math.MaxUint32)),
			RespawnTick: uint32(pick(0, int64(tick)+120)),
			Deaths:      uint32(rng.IntN(3)),
			Kills:       uint32(pick(0, 7, math.MaxUint32)),
			KilledBy:    sim.PlayerID(rng.IntN(40)),
		})
	}
	// Keep players sorted and unique (ids were scaled above).
	uniq := s.Players[:0]
	seen := map[sim.PlayerID]bool{}
	for _, p := range s.Players {
		if !seen[p.ID] {
			seen[p.ID] = true
			uniq = append(uniq, p)
		}
	}
	s.Players = uniq
	sortPlayers(s.Players)
	id := uint32(rng.IntN(50))
	for range rng.IntN(30) {
		id += 1 + uint32(rng.IntN(4))
		s.Projectiles = append(s.Projectiles, sim.Projectile{
			ID: id, Owner: sim.PlayerID(rng.IntN(40)), SpawnTick: tick - uint32(rng.IntN(int(min(tick, 200))+1)),
			X: int32(pick(0, math.MaxInt32, int64(rng.Int32N(10000)))), Y: rng.Int32N(10000),
			Aim: uint16(rng.IntN(sim.AimSteps)),
		})
	}
	return s
}

func sortPlayers(ps []sim.Player) {
	slices.SortFunc(ps, func(a, b sim.Player) int { return cmp.Compare(a.ID, b.ID) })
}

func TestDeltaRoundTripRandomStates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		base := randomState(rng, 1000+uint32(rng.IntN(100)))
		target := randomState(rng, base.Tick+uint32(rng.IntN(60)))
		if i%10 == 0 {
			base = nil // full snapshot
		}
		got := roundTrip(t, base, target)
		require.Equal(t, stripInputs(target), got, "case %d", i)
	}
}

// playedStates runs a real match and returns its state after every tick.
func playedStates(ticks int, seed uint64) []*sim.State {
	w := sim.NewWorld(sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena(), Seed: seed})
	rng := rand.New(rand.NewPCG(seed, 3))
	next := sim.PlayerID(1)
	var out []*sim.State
	for tick := range ticks {
		if len(w.Players) < 16 || tick%97 == 0 {
			_, _ = w.AddPlayer(next)
			next++
		}
		if tick%131 == 0 && len(w.Players) > 0 {
			w.RemovePlayer(w.Players[rng.IntN(len(w.Players))].ID)
		}
		for i := range w.Players {
			if rng.IntN(10) == 0 {
				w.Players[i].In = sim.Input{Buttons: sim.Buttons(rng.IntN(32)), Aim: uint16(rng.IntN(sim.AimSteps))}
			}
		}
		w.Step()
		s := &sim.State{}
		s.CopyFrom(&w.State)
		out = append(out, s)
	}
	return out
}

func TestDeltaRoundTripPlayedWorlds(t *testing.T) {
	states := playedStates(3000, 5)
	rng := rand.New(rand.NewPCG(5, 5))
	for range 3000 {
		ti := rng.IntN(len(states))
		target := states[ti]
		var base *sim.State
		if back := rng.IntN(70); back <= ti && back > 0 {
			base = states[ti-back]
		}
		got := roundTrip(t, base, target)
		require.Equal(t, stripInputs(target), got)
	}
}

func TestDeltaOfIdenticalStatesIsTiny(t *testing.T) {
	s := playedStates(200, 1)[199]
	data := AppendDelta(nil, s, s)
	// NextProjectile delta, the bitmap, one zero count for players and two
	// for projectiles.
	assert.Equal(t, 1+(len(s.Players)+7)/8+1+2, len(data))
}

func TestApplyDeltaRejectsGarbage(t *testing.T) {
	states := playedStates(100, 2)
	base, target := states[50], states[99]
	good := AppendDelta(nil, base, target)
	var out sim.State
	require.NoError(t, ApplyDelta(&out, base, target.Tick, good))

	assert.ErrorIs(t, ApplyDelta(&out, base, target.Tick, good[:len(good)-1]), ErrMalformedState, "truncated")
	assert.ErrorIs(t, ApplyDelta(&out, base, target.Tick, append(append([]byte{}, good...), 0)), ErrMalformedState, "trailing byte")
	assert.ErrorIs(t, ApplyDelta(&out, base, target.Tick, []byte{0, 0x80}), ErrMalformedState, "bad varint")
	huge := []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f} // 2^32-1 new players in six bytes
	assert.ErrorIs(t, ApplyDelta(&out, nil, 1, huge), ErrMalformedState, "impossible count")
	// A player with aim out of range.
	bad := []byte{0, 1, 1, byte(fieldAim), 0xfe, 0x7f, 0, 0}
	assert.ErrorIs(t, ApplyDelta(&out, nil, 1, bad), ErrMalformedState, "aim out of range")
}

// TestDeterminismAcrossSnapshots plays 10,000 ticks twice: once straight,
// once rebuilding the world from its own snapshots along the way (full and
// delta), and compares the state hash after every tick.
func TestDeterminismAcrossSnapshots(t *testing.T) {
	const ticks = 10_000
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena(), Seed: 77}
	input := func(tick uint32, id sim.PlayerID) sim.Input {
		h := uint64(tick/20)*0x9e3779b97f4a7c15 ^ uint64(id)*0xbf58476d1ce4e5b9
		h ^= h >> 29
		return sim.Input{Buttons: sim.Buttons(h % 32), Aim: uint16((h >> 8) % sim.AimSteps)}
	}
	run := func(rebuild bool) []uint64 {
		w := sim.NewWorld(cfg)
		for id := sim.PlayerID(1); id <= 16; id++ {
			_, err := w.AddPlayer(id)
			require.NoError(t, err)
		}
		var prev sim.State
		hashes := make([]uint64, 0, ticks)
		for range ticks {
			if rebuild && w.Tick%250 == 0 && w.Tick > 0 {
				var base *sim.State
				if w.Tick%500 == 0 {
					base = &prev // delta from the previous rebuild point
				}
				data := AppendDelta(nil, base, &w.State)
				fresh := sim.NewWorld(cfg)
				require.NoError(t, ApplyDelta(&fresh.State, base, w.Tick, data))
				prev.CopyFrom(&fresh.State)
				w = fresh
			}
			for i := range w.Players {
				w.Players[i].In = input(w.Tick, w.Players[i].ID)
			}
			w.Step()
			hashes = append(hashes, w.Hash())
		}
		return hashes
	}
	a, b, c := run(false), run(false), run(true)
	for i := range a {
		require.Equal(t, a[i], b[i], "two straight runs diverged at tick %d", i+1)
		require.Equal(t, a[i], c[i], "rebuilt world diverged at tick %d", i+1)
	}
}

func TestSnapshotFrameMatchesProtoMarshal(t *testing.T) {
	tests := []struct {
		tick, age, ack uint32
		state          []byte
	}{
		{1, 0, 0, nil},
		{123456, 2, 99, []byte{1, 2, 3}},
		{math.MaxUint32, math.MaxUint32, math.MaxUint32, make([]byte, 300)},
	}
	for _, tc := range tests {
		want, err := proto.Marshal(&arenapb.ServerMessage{Body: &arenapb.ServerMessage_Snapshot{Snapshot: &arenapb.Snapshot{
			Tick: tc.tick, BaselineAge: tc.age, InputAck: tc.ack, State: tc.state,
		}}})
		require.NoError(t, err)
		assert.Equal(t, want, AppendSnapshotFrame(nil, tc.tick, tc.age, tc.ack, tc.state))
	}
}

func TestDecodeClient(t *testing.T) {
	var m arenapb.ClientMessage
	good := Marshal(&arenapb.ClientMessage{Body: &arenapb.ClientMessage_Hello{Hello: &arenapb.Hello{ProtocolVersion: 1}}})
	require.NoError(t, DecodeClient(good, &m))
	assert.Equal(t, uint32(1), m.GetHello().GetProtocolVersion())
	assert.ErrorIs(t, DecodeClient([]byte{0xff, 0xff}, &m), ErrMalformedFrame)
	// Field 14 is not in the schema: it parses, but carries no known body.
	assert.ErrorIs(t, DecodeClient([]byte{0x72, 0x00}, &m), ErrUnknownMessage)
	assert.ErrorIs(t, DecodeClient(nil, &m), ErrUnknownMessage)
}

func BenchmarkAppendDelta16(b *testing.B) {
	states := playedStates(400, 3)
	base, target := states[397], states[399]
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendDelta(buf[:0], base, target)
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkApplyDelta16(b *testing.B) {
	states := playedStates(400, 3)
	base, target := states[397], states[399]
	data := AppendDelta(nil, base, target)
	var out sim.State
	b.ReportAllocs()
	for b.Loop() {
		if err := ApplyDelta(&out, base, target.Tick, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshotFrame(b *testing.B) {
	state := make([]byte, 90)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSnapshotFrame(buf[:0], 100000, 2, 5000, state)
	}
}

func TestArenaRoundTrip(t *testing.T) {
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena(), Seed: 99}
	assert.Equal(t, cfg, SimConfig(ArenaProto(&cfg)))
}

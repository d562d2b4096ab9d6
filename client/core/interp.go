package core

import (
	"math"

	"github.com/arenaserver/arena/game"
)

// interpolator draws a schema's entities between two received states: the
// fields a game marks Interpolate glide, angles (Wrap) the short way round,
// and an entity whose Jump field changed between the two states is not
// interpolated (it stays where the earlier state had it until the later
// state is reached, then jumps). It is pure and owned by the game
// goroutine.
type interpolator struct {
	kinds []interpKind
}

// interpKind is what the interpolator needs of one kind: the indices of
// its interpolated and of its jump fields.
type interpKind struct {
	lerp []int
	wrap []uint32 // Wrap of each lerp field
	jump []int
}

func newInterpolator(s *game.Schema) *interpolator {
	ip := &interpolator{kinds: make([]interpKind, len(s.Kinds))}
	for k := range s.Kinds {
		ik := &ip.kinds[k]
		for f, fd := range s.Kinds[k].Fields {
			if fd.Interpolate {
				ik.lerp = append(ik.lerp, f)
				ik.wrap = append(ik.wrap, fd.Wrap)
			}
			if fd.Jump {
				ik.jump = append(ik.jump, f)
			}
		}
	}
	return ip
}

// interpolate writes into dst the entities of b (the later state), each
// with its interpolated fields at alpha (0..1) of the way from a (the
// earlier state) to b, rounded to the nearest integer. Entities only in a
// are not shown; entities only in b show b's values. dst's memory is
// reused; it takes b's tick.
func (ip *interpolator) interpolate(dst, a, b *game.Table, alpha float64) {
	dst.Reset(b.Schema)
	dst.Tick = b.Tick
	for k := range ip.kinds {
		ids, _ := b.Rows(k)
		aIDs, _ := a.Rows(k)
		ik := &ip.kinds[k]
		j := 0
		for i, id := range ids {
			rb := b.Row(k, i)
			row := dst.Add(k, id)
			copy(row, rb)
			if len(ik.lerp) == 0 || a == b || alpha >= 1 {
				continue
			}
			for j < len(aIDs) && aIDs[j] < id {
				j++
			}
			if j == len(aIDs) || aIDs[j] != id {
				continue // new in b: nothing to come from
			}
			ra := a.Row(k, j)
			if jumped(ik.jump, ra, rb) {
				for _, f := range ik.lerp {
					row[f] = ra[f]
				}
				continue
			}
			for n, f := range ik.lerp {
				row[f] = lerp(ra[f], rb[f], alpha, ik.wrap[n])
			}
		}
	}
}

// jumped reports whether any jump field differs between two rows of an
// entity.
func jumped(jump []int, a, b []int64) bool {
	for _, f := range jump {
		if a[f] != b[f] {
			return true
		}
	}
	return false
}

// lerp is the value alpha of the way from a to b, rounded; for an angle of
// wrap steps the short way round, within 0..wrap-1.
func lerp(a, b int64, alpha float64, wrap uint32) int64 {
	v := float64(a) + delta(float64(a), float64(b), wrap)*alpha
	v = math.Round(v)
	if wrap != 0 {
		v = wrapTo(v, wrap)
	}
	return int64(v)
}

// delta is b − a; for an angle of wrap steps (wrap ≠ 0) the short way
// round, within −wrap/2..wrap/2.
func delta(a, b float64, wrap uint32) float64 {
	d := b - a
	if wrap == 0 {
		return d
	}
	w := float64(wrap)
	return math.Mod(math.Mod(d+w/2, w)+w, w) - w/2
}

// wrapTo brings v into 0..wrap-1.
func wrapTo(v float64, wrap uint32) float64 {
	w := float64(wrap)
	return math.Mod(math.Mod(v, w)+w, w)
}

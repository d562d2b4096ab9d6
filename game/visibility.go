package game

import "math/bits"

// Visibility is the set of a table's entities one member may see, filled by
// a Viewer: one bit per entity, by kind and row index. The engine keeps one
// per member per snapshot; its memory is reused.
type Visibility struct {
	kinds [][]uint64
}

// Reset clears v (nothing visible) and sizes it for t.
func (v *Visibility) Reset(t *Table) {
	if cap(v.kinds) < len(t.kinds) {
		v.kinds = make([][]uint64, len(t.kinds))
	}
	v.kinds = v.kinds[:len(t.kinds)]
	for k := range v.kinds {
		n := (t.Len(k) + 63) / 64
		if cap(v.kinds[k]) < n {
			v.kinds[k] = make([]uint64, n)
		}
		v.kinds[k] = v.kinds[k][:n]
		clear(v.kinds[k])
	}
}

// Show makes the i-th entity of kind k visible.
func (v *Visibility) Show(k, i int) { v.kinds[k][i/64] |= 1 << (i % 64) }

// ShowAll makes every entity of kind k visible; n is t.Len(k).
func (v *Visibility) ShowAll(k, n int) {
	w := v.kinds[k]
	for i := range w {
		w[i] = ^uint64(0)
	}
	if r := n % 64; r != 0 && len(w) > 0 {
		w[len(w)-1] = 1<<r - 1
	}
}

// Visible reports whether the i-th entity of kind k is visible.
func (v *Visibility) Visible(k, i int) bool { return v.kinds[k][i/64]&(1<<(i%64)) != 0 }

// Count is how many entities of kind k are visible.
func (v *Visibility) Count(k int) int {
	n := 0
	for _, w := range v.kinds[k] {
		n += bits.OnesCount64(w)
	}
	return n
}

// CopyFrom makes v a copy of o, reusing v's memory.
func (v *Visibility) CopyFrom(o *Visibility) {
	if cap(v.kinds) < len(o.kinds) {
		v.kinds = make([][]uint64, len(o.kinds))
	}
	v.kinds = v.kinds[:len(o.kinds)]
	for k := range o.kinds {
		v.kinds[k] = append(v.kinds[k][:0], o.kinds[k]...)
	}
}

// Equal reports whether v and o show the same entities.
func (v *Visibility) Equal(o *Visibility) bool {
	if len(v.kinds) != len(o.kinds) {
		return false
	}
	for k := range v.kinds {
		a, b := v.kinds[k], o.kinds[k]
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

// Hash is a hash of the visible set, for grouping members that see alike.
func (v *Visibility) Hash() uint64 {
	h := uint64(14695981039346656037)
	for _, ws := range v.kinds {
		for _, w := range ws {
			h = (h ^ w) * 1099511628211
			h ^= h >> 29
		}
		h = (h ^ 0xff) * 1099511628211
	}
	return h
}

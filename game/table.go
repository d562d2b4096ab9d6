package game

import (
	"cmp"
	"fmt"
	"slices"
)

// Table is one tick's replicated state: for each kind of a schema, its
// entities sorted by id, each a row of values in field order. A game fills
// one in Match.Replicate; the client library decodes one from every
// snapshot. Rows are int64 whatever the field's type; a field's Range says
// which values are valid.
//
// A Table reuses its memory: Reset keeps capacity, so a table filled every
// snapshot stops allocating once it has grown. Not safe for concurrent use.
type Table struct {
	Schema *Schema
	// Tick is the tick the state belongs to.
	Tick  uint32
	kinds []rows
}

// rows are the entities of one kind: ids sorted ascending, vals holding
// len(ids) rows of width values.
type rows struct {
	width int
	ids   []uint32
	vals  []int64
}

// NewTable returns an empty table for s.
func NewTable(s *Schema) *Table {
	t := &Table{}
	t.init(s)
	return t
}

func (t *Table) init(s *Schema) {
	t.Schema = s
	if cap(t.kinds) < len(s.Kinds) {
		t.kinds = make([]rows, len(s.Kinds))
	}
	t.kinds = t.kinds[:len(s.Kinds)]
	for i := range t.kinds {
		t.kinds[i].width = len(s.Kinds[i].Fields)
	}
}

// Reset empties t (keeping its memory) for schema s; a nil s keeps the
// table's schema.
func (t *Table) Reset(s *Schema) {
	if s != nil && s != t.Schema {
		t.init(s)
	}
	t.Tick = 0
	for i := range t.kinds {
		t.kinds[i].ids = t.kinds[i].ids[:0]
		t.kinds[i].vals = t.kinds[i].vals[:0]
	}
}

// CopyFrom makes t a deep copy of src, reusing t's memory.
func (t *Table) CopyFrom(src *Table) {
	t.Reset(src.Schema)
	t.Tick = src.Tick
	for i := range src.kinds {
		t.kinds[i].ids = append(t.kinds[i].ids, src.kinds[i].ids...)
		t.kinds[i].vals = append(t.kinds[i].vals, src.kinds[i].vals...)
	}
}

// Add appends an entity of kind k with id and returns its row, zeroed, for
// the caller to fill (valid until the next Add to this kind). Entities of a
// kind must be added in increasing id order; Add panics otherwise, since a
// game that replicates in map order is not deterministic.
func (t *Table) Add(k int, id uint32) []int64 {
	r := &t.kinds[k]
	if n := len(r.ids); n > 0 && r.ids[n-1] >= id {
		panic(fmt.Sprintf("game: %s entity %d added after %d: add entities in increasing id order", t.Schema.Kinds[k].Name, id, r.ids[n-1]))
	}
	return t.Append(k, id)
}

// Len is the number of entities of kind k.
func (t *Table) Len(k int) int { return len(t.kinds[k].ids) }

// ID is the id of the i-th entity of kind k (in id order).
func (t *Table) ID(k, i int) uint32 { return t.kinds[k].ids[i] }

// Row is the values of the i-th entity of kind k. It aliases the table.
func (t *Table) Row(k, i int) []int64 {
	r := &t.kinds[k]
	return r.vals[i*r.width : (i+1)*r.width : (i+1)*r.width]
}

// Find returns the index of the entity of kind k with id, or -1.
func (t *Table) Find(k int, id uint32) int {
	i, ok := slices.BinarySearch(t.kinds[k].ids, id)
	if !ok {
		return -1
	}
	return i
}

// Get returns the row of the entity of kind k with id, or nil.
func (t *Table) Get(k int, id uint32) []int64 {
	if i := t.Find(k, id); i >= 0 {
		return t.Row(k, i)
	}
	return nil
}

// Remove deletes the entity of kind k with id, if present.
func (t *Table) Remove(k int, id uint32) {
	i := t.Find(k, id)
	if i < 0 {
		return
	}
	r := &t.kinds[k]
	r.ids = slices.Delete(r.ids, i, i+1)
	r.vals = slices.Delete(r.vals, i*r.width, (i+1)*r.width)
}

// Insert adds an entity of kind k with id wherever its id belongs (Add
// requires order; a client adding a predicted entity does not know it) and
// returns its zeroed row. It panics when id is present.
func (t *Table) Insert(k int, id uint32) []int64 {
	r := &t.kinds[k]
	i, ok := slices.BinarySearch(r.ids, id)
	if ok {
		panic(fmt.Sprintf("game: %s entity %d inserted twice", t.Schema.Kinds[k].Name, id))
	}
	r.ids = slices.Insert(r.ids, i, id)
	r.vals = slices.Insert(r.vals, i*r.width, make([]int64, r.width)...)
	return t.Row(k, i)
}

// Rows returns kind k's ids and its values, row after row (width fields
// each). Both alias the table: the codec and renderers read them in place.
func (t *Table) Rows(k int) (ids []uint32, vals []int64) {
	return t.kinds[k].ids, t.kinds[k].vals
}

// Sorted reports whether every kind's ids are strictly increasing.
func (t *Table) Sorted() bool {
	for i := range t.kinds {
		if !slices.IsSortedFunc(t.kinds[i].ids, cmp.Compare[uint32]) {
			return false
		}
		for j := 1; j < len(t.kinds[i].ids); j++ {
			if t.kinds[i].ids[j-1] == t.kinds[i].ids[j] {
				return false
			}
		}
	}
	return true
}

// Equal reports whether t and o hold the same entities with the same values
// (ticks aside).
func (t *Table) Equal(o *Table) bool {
	if len(t.kinds) != len(o.kinds) {
		return false
	}
	for i := range t.kinds {
		if !slices.Equal(t.kinds[i].ids, o.kinds[i].ids) || !slices.Equal(t.kinds[i].vals, o.kinds[i].vals) {
			return false
		}
	}
	return true
}

// Hash is an FNV-1a hash of every id and value, for determinism checks.
func (t *Table) Hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		for range 8 {
			h ^= v & 0xff
			h *= 1099511628211
			v >>= 8
		}
	}
	for i := range t.kinds {
		mix(uint64(len(t.kinds[i].ids)))
		for _, id := range t.kinds[i].ids {
			mix(uint64(id))
		}
		for _, v := range t.kinds[i].vals {
			mix(uint64(v))
		}
	}
	return h
}

// Builder fills a Table row by row where the ids of a kind arrive out of
// order (a decoder merging kept and added entities): Append anywhere, then
// Sort. Used by the codec; a game adds in order with Table.Add instead.
//
// Append appends a row of kind k without checking the order.
func (t *Table) Append(k int, id uint32) []int64 {
	r := &t.kinds[k]
	r.ids = append(r.ids, id)
	start := len(r.vals)
	r.vals = slices.Grow(r.vals, r.width)[:start+r.width]
	row := r.vals[start : start+r.width : start+r.width]
	clear(row)
	return row
}

// SortScratch is reused memory for SortKind.
type SortScratch struct {
	ids  []uint32
	vals []int64
}

// SortKind restores kind k's id order after Append, moving rows with their
// ids, and reports false when two entities share an id. It allocates only
// while scratch grows.
func (t *Table) SortKind(k int, scratch *SortScratch) bool {
	r := &t.kinds[k]
	n, w := len(r.ids), r.width
	sorted := true
	for j := 1; j < n; j++ {
		if r.ids[j-1] >= r.ids[j] {
			if r.ids[j-1] == r.ids[j] {
				return false
			}
			sorted = false
		}
	}
	if sorted {
		return true
	}
	// Bottom-up merge sort of (id, row) pairs between the table and the
	// scratch; the input is usually two sorted runs, so one pass merges it.
	scratch.ids = slices.Grow(scratch.ids[:0], n)[:n]
	scratch.vals = slices.Grow(scratch.vals[:0], n*w)[:n*w]
	srcI, srcV, dstI, dstV := r.ids, r.vals, scratch.ids, scratch.vals
	for size := 1; size < n; size *= 2 {
		for lo := 0; lo < n; lo += 2 * size {
			mid, hi := min(lo+size, n), min(lo+2*size, n)
			a, b, o := lo, mid, lo
			for a < mid || b < hi {
				take := a
				if a == mid || (b < hi && srcI[b] < srcI[a]) {
					take = b
					b++
				} else {
					a++
				}
				dstI[o] = srcI[take]
				copy(dstV[o*w:(o+1)*w], srcV[take*w:(take+1)*w])
				o++
			}
		}
		srcI, srcV, dstI, dstV = dstI, dstV, srcI, srcV
	}
	if &srcI[0] != &r.ids[0] {
		copy(r.ids, srcI)
		copy(r.vals, srcV)
	}
	for j := 1; j < n; j++ {
		if r.ids[j-1] == r.ids[j] {
			return false
		}
	}
	return true
}

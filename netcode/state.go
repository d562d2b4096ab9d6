package netcode

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/arenaserver/arena/game"
)

// ErrMalformedState is returned when snapshot state bytes do not decode
// against the given baseline.
var ErrMalformedState = errors.New("netcode: malformed snapshot state")

// The state bytes of a snapshot turn a baseline Table into the target
// Table, kind after kind in schema order (PROTOCOL.md, "Replicated state",
// specifies the same format for every game). Per kind:
//
//	header  uvarint: 0 = no baseline entity has an entry; 1 = a bitmap of
//	        ceil(B/8) bytes follows (bit i: the baseline's i-th entity has
//	        an entry); n+1 = n entries follow, each after a uvarint gap
//	        (its index − the previous entry's index − 1, the first from −1)
//	entry   mutable kinds: uvarint field mask, 0 = removed; else for each
//	        set bit, ascending, a zigzag varint (new − old value)
//	        immutable kinds: nothing (an entry means removed)
//	adds    uvarint count, then per new entity in id order: its id (the
//	        first as a zigzag varint from the baseline's last id of the
//	        kind, 0 without one; then uvarint gaps of at least 1), and its
//	        values: mutable kinds a uvarint mask of non-zero fields, then
//	        those; immutable kinds every field. A value is a zigzag varint
//	        for signed fields and for Tick fields (as snapshot tick −
//	        value), else a uvarint.
//
// B counts the baseline entities of the kind that the member saw. The
// encoder picks the bitmap or the gaps, whichever is shorter.

// kindCodec is a kind's fields in the form the codec reads fastest.
type kindCodec struct {
	immutable bool
	fields    []fieldCodec
}

type fieldCodec struct {
	lo, hi int64
	signed bool // zigzag on the wire (signed or tick)
	tick   bool
}

// schemaCodec caches the codec form of one schema.
type schemaCodec struct {
	schema *game.Schema
	kinds  []kindCodec
}

func (c *schemaCodec) use(s *game.Schema) {
	if c.schema == s {
		return
	}
	c.schema = s
	c.kinds = make([]kindCodec, len(s.Kinds))
	for i, k := range s.Kinds {
		kc := kindCodec{immutable: k.Immutable, fields: make([]fieldCodec, len(k.Fields))}
		for j := range k.Fields {
			f := &k.Fields[j]
			lo, hi := f.Range()
			kc.fields[j] = fieldCodec{lo: lo, hi: hi, signed: f.Signed || f.Tick, tick: f.Tick}
		}
		c.kinds[i] = kc
	}
}

// Encoder writes state bytes. It keeps scratch memory, so encoding stops
// allocating once it has grown. Not safe for concurrent use; a room owns
// one.
type Encoder struct {
	codec   schemaCodec
	entries []entry
	adds    []int // target row indices of new entities
	visB    []int // visible baseline row indices of the kind being encoded
}

type entry struct {
	index      int    // position among the visible baseline rows
	mask       uint64 // mutable: fields that changed; 0 = removed
	base, targ int    // row indices in the tables
}

// Append appends to dst the state bytes that turn base (as seen through
// baseVis) into target (as seen through vis) and returns the extended
// slice. A nil base is the empty state (a full snapshot); a nil visibility
// shows every entity. Both tables must have the same schema, with ids in
// increasing order per kind.
func (e *Encoder) Append(dst []byte, base *game.Table, baseVis *game.Visibility, target *game.Table, vis *game.Visibility) []byte {
	e.codec.use(target.Schema)
	for k := range e.codec.kinds {
		dst = e.appendKind(dst, k, base, baseVis, target, vis)
	}
	return dst
}

func (e *Encoder) appendKind(dst []byte, k int, base *game.Table, baseVis *game.Visibility, target *game.Table, vis *game.Visibility) []byte {
	kc := &e.codec.kinds[k]
	width := len(kc.fields)
	e.visB = e.visB[:0]
	var bIDs []uint32
	var bVals []int64
	if base != nil {
		bIDs, bVals = base.Rows(k)
		for i := range bIDs {
			if baseVis == nil || baseVis.Visible(k, i) {
				e.visB = append(e.visB, i)
			}
		}
	}
	tIDs, tVals := target.Rows(k)
	e.entries, e.adds = e.entries[:0], e.adds[:0]
	// Merge the visible baseline with the visible target by id.
	j := 0
	nextT := func() int {
		for j < len(tIDs) && vis != nil && !vis.Visible(k, j) {
			j++
		}
		return j
	}
	for bi, b := range e.visB {
		id := bIDs[b]
		for nextT() < len(tIDs) && tIDs[j] < id {
			e.adds = append(e.adds, j)
			j++
		}
		if j < len(tIDs) && tIDs[j] == id {
			bRow, tRow := bVals[b*width:(b+1)*width], tVals[j*width:(j+1)*width]
			var mask uint64
			for f := range width {
				if bRow[f] != tRow[f] {
					mask |= 1 << f
				}
			}
			switch {
			case mask == 0:
			case kc.immutable: // changed after all: removed and added again
				e.entries = append(e.entries, entry{index: bi})
				e.adds = append(e.adds, j)
			default:
				e.entries = append(e.entries, entry{index: bi, mask: mask, base: b, targ: j})
			}
			j++
			continue
		}
		e.entries = append(e.entries, entry{index: bi}) // removed
	}
	for nextT() < len(tIDs) {
		e.adds = append(e.adds, j)
		j++
	}
	if kc.immutable && len(e.adds) > 1 {
		sortInts(e.adds) // re-added entities joined the list out of order
	}

	// Header: none, a bitmap, or gaps, whichever is shortest.
	if len(e.entries) == 0 {
		dst = append(dst, 0)
	} else {
		bitmapLen := (len(e.visB) + 7) / 8
		gapLen, prev := 0, -1
		for _, en := range e.entries {
			gapLen += uvarintLen(uint64(en.index - prev - 1))
			prev = en.index
		}
		if gapLen < bitmapLen {
			dst = binary.AppendUvarint(dst, uint64(len(e.entries)+1))
			prev = -1
			for _, en := range e.entries {
				dst = binary.AppendUvarint(dst, uint64(en.index-prev-1))
				prev = en.index
				dst = appendEntry(dst, kc, &en, bVals, tVals, width)
			}
		} else {
			dst = append(dst, 1)
			at := len(dst)
			dst = append(dst, make([]byte, bitmapLen)...)
			for _, en := range e.entries {
				dst[at+en.index/8] |= 1 << (en.index % 8)
			}
			for _, en := range e.entries {
				dst = appendEntry(dst, kc, &en, bVals, tVals, width)
			}
		}
	}

	// Adds.
	dst = binary.AppendUvarint(dst, uint64(len(e.adds)))
	var prevID uint32
	if n := len(e.visB); n > 0 {
		prevID = bIDs[e.visB[n-1]]
	}
	for i, t := range e.adds {
		id := tIDs[t]
		if i == 0 {
			dst = binary.AppendVarint(dst, int64(id)-int64(prevID))
		} else {
			dst = binary.AppendUvarint(dst, uint64(id-prevID))
		}
		prevID = id
		row := tVals[t*width : (t+1)*width]
		if kc.immutable {
			for f := range width {
				dst = appendValue(dst, &kc.fields[f], row[f], target.Tick)
			}
			continue
		}
		var mask uint64
		for f := range width {
			if row[f] != 0 {
				mask |= 1 << f
			}
		}
		dst = binary.AppendUvarint(dst, mask)
		for m := mask; m != 0; m &= m - 1 {
			f := bits.TrailingZeros64(m)
			dst = appendValue(dst, &kc.fields[f], row[f], target.Tick)
		}
	}
	return dst
}

func appendEntry(dst []byte, kc *kindCodec, en *entry, bVals, tVals []int64, width int) []byte {
	if kc.immutable {
		return dst
	}
	dst = binary.AppendUvarint(dst, en.mask)
	bRow, tRow := bVals[en.base*width:], tVals[en.targ*width:]
	for m := en.mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		dst = binary.AppendVarint(dst, tRow[f]-bRow[f])
	}
	return dst
}

func appendValue(dst []byte, f *fieldCodec, v int64, tick uint32) []byte {
	switch {
	case f.tick:
		return binary.AppendVarint(dst, int64(tick)-v)
	case f.signed:
		return binary.AppendVarint(dst, v)
	}
	return binary.AppendUvarint(dst, uint64(v))
}

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// Decoder rebuilds Tables from state bytes. It keeps scratch memory; not
// safe for concurrent use.
type Decoder struct {
	codec    schemaCodec
	sortBuf  game.SortScratch
	has      []bool // per baseline row of the kind being decoded: has an entry
	changed  []int  // gap mode: index into rowIDs/rowVals per entry, -1 = removed
	rowIDs   []uint32
	rowVals  []int64
	entryIdx []int // gap mode: baseline index of each entry
}

// Decode turns base (nil: the empty state) into out by data, for tick. out
// must not be base; its memory is reused and it takes base's schema (or
// schema, for a nil base). On error out holds garbage and base is
// untouched.
func (d *Decoder) Decode(out, base *game.Table, schema *game.Schema, tick uint32, data []byte) error {
	if base != nil {
		schema = base.Schema
	}
	d.codec.use(schema)
	out.Reset(schema)
	out.Tick = tick
	r := reader{buf: data}
	for k := range d.codec.kinds {
		if err := d.decodeKind(&r, k, out, base, tick); err != nil {
			return err
		}
	}
	if r.err || len(r.buf) != 0 {
		return ErrMalformedState
	}
	return nil
}

func (d *Decoder) decodeKind(r *reader, k int, out, base *game.Table, tick uint32) error {
	kc := &d.codec.kinds[k]
	width := len(kc.fields)
	var bIDs []uint32
	var bVals []int64
	if base != nil {
		bIDs, bVals = base.Rows(k)
	}
	n := len(bIDs)
	if cap(d.has) < n {
		d.has = make([]bool, n)
	}
	has := d.has[:n]
	clear(has)
	header := r.uvarint()
	if r.err {
		return ErrMalformedState
	}
	switch {
	case header == 0:
		for i := range n {
			copy(out.Append(k, bIDs[i]), bVals[i*width:(i+1)*width])
		}
	case header == 1:
		bl := (n + 7) / 8
		if bl == 0 || len(r.buf) < bl {
			return ErrMalformedState
		}
		bitmap := r.buf[:bl]
		r.buf = r.buf[bl:]
		if rem := n % 8; rem != 0 && bitmap[bl-1]>>rem != 0 {
			return ErrMalformedState // bits past the baseline's entities
		}
		for i := range n {
			row := bVals[i*width : (i+1)*width]
			switch {
			case bitmap[i/8]&(1<<(i%8)) == 0:
				copy(out.Append(k, bIDs[i]), row)
			case kc.immutable: // removed
			default:
				if !d.entry(r, kc, out, k, bIDs[i], row) {
					return ErrMalformedState
				}
			}
		}
	default:
		// Entries come first, each after its gap; the rows they change are
		// decoded aside and merged in baseline order below.
		count := header - 1
		if count > uint64(n) {
			return ErrMalformedState
		}
		d.rowIDs, d.rowVals, d.entryIdx = d.rowIDs[:0], d.rowVals[:0], d.entryIdx[:0]
		prev := -1
		for range count {
			gap := r.uvarint()
			if r.err || gap >= uint64(n-prev-1) {
				return ErrMalformedState
			}
			prev += int(gap) + 1
			has[prev] = true
			if kc.immutable {
				continue
			}
			mask := r.uvarint()
			if mask == 0 {
				continue // removed
			}
			base := bVals[prev*width : (prev+1)*width]
			start := len(d.rowVals)
			d.rowVals = append(d.rowVals, base...)
			if !applyMask(r, kc, d.rowVals[start:], mask) {
				return ErrMalformedState
			}
			d.rowIDs = append(d.rowIDs, bIDs[prev])
			d.entryIdx = append(d.entryIdx, prev)
		}
		e := 0
		for i := range n {
			switch {
			case e < len(d.entryIdx) && d.entryIdx[e] == i:
				copy(out.Append(k, d.rowIDs[e]), d.rowVals[e*width:(e+1)*width])
				e++
			case !has[i]:
				copy(out.Append(k, bIDs[i]), bVals[i*width:(i+1)*width])
			}
		}
	}
	// Adds.
	added := r.uvarint()
	minSize := uint64(2)
	if kc.immutable {
		minSize = uint64(1 + width)
	}
	if r.err || added > uint64(len(r.buf))/minSize+1 {
		return ErrMalformedState
	}
	var prevID int64
	if n > 0 {
		prevID = int64(bIDs[n-1])
	}
	for i := range added {
		var id int64
		if i == 0 {
			id = prevID + r.varint()
		} else {
			gap := r.uvarint()
			if gap == 0 {
				return ErrMalformedState
			}
			id = prevID + int64(gap)
		}
		if r.err || id < 0 || id > 1<<32-1 {
			return ErrMalformedState
		}
		prevID = id
		row := out.Append(k, uint32(id))
		var mask uint64
		if kc.immutable {
			mask = 1<<width - 1
		} else {
			mask = r.uvarint()
			if width < 64 && mask>>width != 0 {
				return ErrMalformedState
			}
		}
		for m := mask; m != 0; m &= m - 1 {
			f := bits.TrailingZeros64(m)
			fc := &kc.fields[f]
			var v int64
			switch {
			case fc.tick:
				v = int64(tick) - r.varint()
			case fc.signed:
				v = r.varint()
			default:
				u := r.uvarint()
				if u > 1<<62 {
					return ErrMalformedState
				}
				v = int64(u)
			}
			if r.err || v < fc.lo || v > fc.hi {
				return ErrMalformedState
			}
			row[f] = v
		}
	}
	if !out.SortKind(k, &d.sortBuf) {
		return ErrMalformedState
	}
	return nil
}

// entry reads a bitmap-mode entry of baseline entity id (its mask, then
// its deltas) and writes the changed row to out; mask 0 removes it.
func (d *Decoder) entry(r *reader, kc *kindCodec, out *game.Table, k int, id uint32, base []int64) bool {
	mask := r.uvarint()
	if r.err {
		return false
	}
	if mask == 0 {
		return true
	}
	row := out.Append(k, id)
	copy(row, base)
	return applyMask(r, kc, row, mask)
}

// applyMask adds the deltas of the fields in mask to row.
func applyMask(r *reader, kc *kindCodec, row []int64, mask uint64) bool {
	if width := len(kc.fields); width < 64 && mask>>width != 0 {
		return false
	}
	for m := mask; m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		v, ok := addInt(row[f], r.varint(), kc.fields[f].lo, kc.fields[f].hi)
		if !ok || r.err {
			return false
		}
		row[f] = v
	}
	return true
}

// reader consumes varints; after the first error every read returns 0 and
// err stays set.
type reader struct {
	buf []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err, r.buf = true, nil
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.err, r.buf = true, nil
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func addInt(base, delta, lo, hi int64) (int64, bool) {
	v := base + delta
	if (delta > 0 && v < base) || (delta < 0 && v > base) || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

package netcode

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/arenaserver/arena/sim"
)

// ErrMalformedState is returned when snapshot state bytes do not decode
// against the given baseline.
var ErrMalformedState = errors.New("netcode: malformed snapshot state")

// Player fields, in the order of their bits in an entry's mask. PROTOCOL.md
// lists the same table.
const (
	fieldX = 1 << iota
	fieldY
	fieldAim
	fieldHealth
	fieldNextFire
	fieldRespawn
	fieldDeaths
	fieldKills
	fieldKilledBy

	fieldCount = iota
)

// AppendDelta appends to dst the state bytes that turn base into target,
// and returns the extended slice. A nil base means the empty state, which
// gives a full snapshot. Both states must keep their players and projectiles
// sorted by ID, as sim does. AppendDelta does not allocate when dst has room.
func AppendDelta(dst []byte, base, target *sim.State) []byte {
	if base == nil {
		base = &emptyState
	}
	dst = binary.AppendVarint(dst, int64(target.NextProjectile)-int64(base.NextProjectile))
	dst = appendPlayers(dst, base.Players, target.Players)
	return appendProjectiles(dst, base, target)
}

var emptyState sim.State

func appendPlayers(dst []byte, base, target []sim.Player) []byte {
	// The bitmap marks which baseline players have an entry; it is filled in
	// while the entries are appended after it.
	bitmapAt := len(dst)
	dst = append(dst, make([]byte, (len(base)+7)/8)...)
	j := 0
	for i := range base {
		b := &base[i]
		for j < len(target) && target[j].ID < b.ID {
			j++ // a new player; written in the second list
		}
		if j < len(target) && target[j].ID == b.ID {
			mask := diffMask(b, &target[j])
			if mask != 0 {
				dst[bitmapAt+i/8] |= 1 << (i % 8)
				dst = appendPlayerFields(binary.AppendUvarint(dst, uint64(mask)), mask, b, &target[j])
			}
			j++
			continue
		}
		dst[bitmapAt+i/8] |= 1 << (i % 8)
		dst = append(dst, 0) // mask 0: removed
	}

	added := 0
	forNew(base, target, func(*sim.Player) { added++ })
	dst = binary.AppendUvarint(dst, uint64(added))
	var prev sim.PlayerID
	var zero sim.Player
	forNew(base, target, func(p *sim.Player) {
		mask := diffMask(&zero, p)
		dst = binary.AppendUvarint(dst, uint64(p.ID-prev))
		dst = appendPlayerFields(binary.AppendUvarint(dst, uint64(mask)), mask, &zero, p)
		prev = p.ID
	})
	return dst
}

// forNew calls f for every player of target not in base, in ID order.
func forNew(base, target []sim.Player, f func(*sim.Player)) {
	i := 0
	for j := range target {
		for i < len(base) && base[i].ID < target[j].ID {
			i++
		}
		if i == len(base) || base[i].ID != target[j].ID {
			f(&target[j])
		}
	}
}

func diffMask(a, b *sim.Player) uint32 {
	var m uint32
	set := func(bit uint32, differ bool) {
		if differ {
			m |= bit
		}
	}
	set(fieldX, a.X != b.X)
	set(fieldY, a.Y != b.Y)
	set(fieldAim, a.Aim != b.Aim)
	set(fieldHealth, a.Health != b.Health)
	set(fieldNextFire, a.NextFire != b.NextFire)
	set(fieldRespawn, a.RespawnTick != b.RespawnTick)
	set(fieldDeaths, a.Deaths != b.Deaths)
	set(fieldKills, a.Kills != b.Kills)
	set(fieldKilledBy, a.KilledBy != b.KilledBy)
	return m
}

// playerFields lists a player's snapshot fields as int64s, in mask order.
func playerFields(p *sim.Player) [fieldCount]int64 {
	return [fieldCount]int64{
		int64(p.X), int64(p.Y), int64(p.Aim), int64(p.Health), int64(p.NextFire),
		int64(p.RespawnTick), int64(p.Deaths), int64(p.Kills), int64(p.KilledBy),
	}
}

func appendPlayerFields(dst []byte, mask uint32, base, p *sim.Player) []byte {
	bv, pv := playerFields(base), playerFields(p)
	for f := range fieldCount {
		if mask&(1<<f) != 0 {
			dst = binary.AppendVarint(dst, pv[f]-bv[f])
		}
	}
	return dst
}

func appendProjectiles(dst []byte, base, target *sim.State) []byte {
	bp, tp := base.Projectiles, target.Projectiles
	// Removed: baseline projectiles missing from target, by index gap.
	removed := 0
	forMissing(bp, tp, func(int) { removed++ })
	dst = binary.AppendUvarint(dst, uint64(removed))
	next := 0
	forMissing(bp, tp, func(i int) {
		dst = binary.AppendUvarint(dst, uint64(i-next))
		next = i + 1
	})
	// Added: target projectiles missing from base.
	added := 0
	forMissing(tp, bp, func(int) { added++ })
	dst = binary.AppendUvarint(dst, uint64(added))
	prev := int64(base.NextProjectile) - 1
	forMissing(tp, bp, func(i int) {
		pr := &tp[i]
		dst = binary.AppendVarint(dst, int64(pr.ID)-prev-1)
		dst = binary.AppendUvarint(dst, uint64(pr.Owner))
		dst = binary.AppendUvarint(dst, uint64(target.Tick-pr.SpawnTick))
		dst = binary.AppendUvarint(dst, uint64(uint32(pr.X)))
		dst = binary.AppendUvarint(dst, uint64(uint32(pr.Y)))
		dst = binary.AppendUvarint(dst, uint64(pr.Aim))
		prev = int64(pr.ID)
	})
	return dst
}

// forMissing calls f with the index of every projectile of a that is not in
// b, in order: its ID is absent, or (never in a real match, where
// projectiles do not change) present with other values. Both are sorted by ID.
func forMissing(a, b []sim.Projectile, f func(int)) {
	j := 0
	for i := range a {
		for j < len(b) && b[j].ID < a[i].ID {
			j++
		}
		if j == len(b) || b[j] != a[i] {
			f(i)
		}
	}
}

// ApplyDelta decodes state bytes against base (nil for the empty state) into
// out, which becomes the state at tick. out's slices are reused; out must
// not be base. On error out holds garbage and base is untouched.
func ApplyDelta(out, base *sim.State, tick uint32, data []byte) error {
	if base == nil {
		base = &emptyState
	}
	r := reader{buf: data}
	out.Tick = tick
	next, ok := addInt(int64(base.NextProjectile), r.varint(), 0, math.MaxUint32)
	if !ok {
		return ErrMalformedState
	}
	out.NextProjectile = uint32(next)
	if err := r.players(out, base.Players); err != nil {
		return err
	}
	if err := r.projectiles(out, base, tick); err != nil {
		return err
	}
	if r.err || len(r.buf) != 0 {
		return ErrMalformedState
	}
	return nil
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

func (r *reader) byte() byte {
	if len(r.buf) == 0 {
		r.err = true
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

// count reads an element count and refuses one that could not fit in the
// bytes left, each element taking at least min bytes. This bounds what a
// decoder allocates by the size of its input.
func (r *reader) count(min int) (int, bool) {
	n := r.uvarint()
	if r.err || n > uint64(len(r.buf)/min) {
		return 0, false
	}
	return int(n), true
}

func addInt(base, delta, lo, hi int64) (int64, bool) {
	v := base + delta
	if (delta > 0 && v < base) || (delta < 0 && v > base) || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

func (r *reader) playerFields(p *sim.Player, mask uint64) bool {
	if mask >= 1<<fieldCount {
		return false
	}
	v := playerFields(p)
	limits := [fieldCount][2]int64{
		{math.MinInt32, math.MaxInt32}, {math.MinInt32, math.MaxInt32}, {0, sim.AimSteps - 1},
		{0, math.MaxUint8}, {0, math.MaxUint32}, {0, math.MaxUint32}, {0, math.MaxUint32},
		{0, math.MaxUint32}, {0, math.MaxUint32},
	}
	for f := range fieldCount {
		if mask&(1<<f) == 0 {
			continue
		}
		nv, ok := addInt(v[f], r.varint(), limits[f][0], limits[f][1])
		if !ok || r.err {
			return false
		}
		v[f] = nv
	}
	p.X, p.Y, p.Aim, p.Health = int32(v[0]), int32(v[1]), uint16(v[2]), uint8(v[3])
	p.NextFire, p.RespawnTick, p.Deaths, p.Kills = uint32(v[4]), uint32(v[5]), uint32(v[6]), uint32(v[7])
	p.KilledBy = sim.PlayerID(v[8])
	return true
}

func (r *reader) players(out *sim.State, base []sim.Player) error {
	bitmapLen := (len(base) + 7) / 8
	if len(r.buf) < bitmapLen {
		return ErrMalformedState
	}
	bitmap := r.buf[:bitmapLen]
	r.buf = r.buf[bitmapLen:]
	out.Players = out.Players[:0]
	for i := range base {
		p := base[i]
		p.In = sim.Input{}
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			mask := r.uvarint()
			if mask == 0 {
				continue // removed
			}
			if !r.playerFields(&p, mask) {
				return ErrMalformedState
			}
		}
		out.Players = append(out.Players, p)
	}
	if n := len(base) % 8; n != 0 && bitmap[bitmapLen-1]>>n != 0 {
		return ErrMalformedState // bits past the baseline's players
	}
	added, ok := r.count(2)
	if !ok {
		return ErrMalformedState
	}
	kept := len(out.Players)
	var prev int64
	for range added {
		id, ok := addInt(prev, int64(r.uvarint()), 1, math.MaxUint32)
		if !ok || r.err || (id == prev) {
			return ErrMalformedState
		}
		p := sim.Player{ID: sim.PlayerID(id)}
		if !r.playerFields(&p, r.uvarint()) {
			return ErrMalformedState
		}
		out.Players = append(out.Players, p)
		prev = id
	}
	return sortUnique(out.Players, kept, func(p sim.Player) uint32 { return uint32(p.ID) })
}

func (r *reader) projectiles(out *sim.State, base *sim.State, tick uint32) error {
	removed, ok := r.count(1)
	if !ok || removed > len(base.Projectiles) {
		return ErrMalformedState
	}
	out.Projectiles = out.Projectiles[:0]
	next := 0
	for range removed {
		gap := r.uvarint()
		if r.err || gap > uint64(len(base.Projectiles)-next) {
			return ErrMalformedState
		}
		idx := next + int(gap)
		if idx >= len(base.Projectiles) {
			return ErrMalformedState
		}
		out.Projectiles = append(out.Projectiles, base.Projectiles[next:idx]...)
		next = idx + 1
	}
	out.Projectiles = append(out.Projectiles, base.Projectiles[next:]...)
	kept := len(out.Projectiles)
	added, ok := r.count(6)
	if !ok {
		return ErrMalformedState
	}
	prev := int64(base.NextProjectile) - 1
	for range added {
		id, ok := addInt(prev+1, r.varint(), 0, math.MaxUint32)
		owner := r.uvarint()
		age := r.uvarint()
		x, y, aim := r.uvarint(), r.uvarint(), r.uvarint()
		if !ok || r.err || owner > math.MaxUint32 || age > uint64(tick) ||
			x > math.MaxUint32 || y > math.MaxUint32 || aim >= sim.AimSteps {
			return ErrMalformedState
		}
		out.Projectiles = append(out.Projectiles, sim.Projectile{
			ID: uint32(id), Owner: sim.PlayerID(owner), SpawnTick: tick - uint32(age),
			X: int32(uint32(x)), Y: int32(uint32(y)), Aim: uint16(aim),
		})
		prev = id
	}
	return sortUnique(out.Projectiles, kept, func(p sim.Projectile) uint32 { return p.ID })
}

// sortUnique restores ID order after the entries from kept on were appended,
// and refuses duplicate IDs. It does not allocate.
func sortUnique[T any](s []T, kept int, id func(T) uint32) error {
	if kept < len(s) && kept > 0 && id(s[kept-1]) >= id(s[kept]) {
		slices.SortFunc(s, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	}
	for i := 1; i < len(s); i++ {
		if id(s[i-1]) >= id(s[i]) {
			return ErrMalformedState
		}
	}
	return nil
}

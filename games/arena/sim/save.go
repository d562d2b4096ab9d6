package sim

import (
	"encoding/binary"
	"errors"
)

// saveVersion prefixes a saved world.
const saveVersion = 1

// ErrSaved means saved world bytes do not decode.
var ErrSaved = errors.New("sim: malformed saved world")

// AppendSave appends everything Step depends on besides the Config: the
// state, every player's pending input, the projectiles' rewinds and the
// lag-compensation ring. A world restored from it under the same Config
// steps exactly as this one would.
func (w *World) AppendSave(dst []byte) []byte {
	u := binary.AppendUvarint
	i := func(dst []byte, v int32) []byte { return binary.AppendVarint(dst, int64(v)) }
	dst = append(dst, saveVersion)
	dst = u(dst, uint64(w.Tick))
	dst = u(dst, uint64(w.NextProjectile))
	dst = u(dst, uint64(len(w.Players)))
	for _, p := range w.Players {
		dst = u(dst, uint64(p.ID))
		dst = i(dst, p.X)
		dst = i(dst, p.Y)
		dst = u(dst, uint64(p.Aim))
		dst = u(dst, uint64(p.Health))
		dst = u(dst, uint64(p.NextFire))
		dst = u(dst, uint64(p.RespawnTick))
		dst = u(dst, uint64(p.Deaths))
		dst = u(dst, uint64(p.Kills))
		dst = u(dst, uint64(p.KilledBy))
		dst = u(dst, uint64(p.In.Buttons))
		dst = u(dst, uint64(p.In.Aim))
		dst = u(dst, uint64(p.In.ViewTick))
	}
	dst = u(dst, uint64(len(w.Projectiles)))
	for _, pr := range w.Projectiles {
		dst = u(dst, uint64(pr.ID))
		dst = u(dst, uint64(pr.Owner))
		dst = u(dst, uint64(pr.SpawnTick))
		dst = i(dst, pr.X)
		dst = i(dst, pr.Y)
		dst = u(dst, uint64(pr.Aim))
		dst = u(dst, uint64(pr.Rewind))
	}
	dst = u(dst, uint64(len(w.past)))
	for _, pt := range w.past {
		dst = u(dst, uint64(pt.tick))
		dst = u(dst, uint64(len(pt.players)))
		for _, pp := range pt.players {
			dst = u(dst, uint64(pp.id))
			dst = i(dst, pp.x)
			dst = i(dst, pp.y)
			if pp.alive {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

// RestoreWorld rebuilds a world that AppendSave wrote, under cfg.
func RestoreWorld(cfg Config, data []byte) (*World, error) {
	if len(data) == 0 || data[0] != saveVersion {
		return nil, ErrSaved
	}
	r := savedReader{buf: data[1:]}
	w := NewWorld(cfg)
	w.Tick = r.u32()
	w.NextProjectile = r.u32()
	n := r.count(13)
	w.Players = make([]Player, n)
	for k := range w.Players {
		p := &w.Players[k]
		p.ID = PlayerID(r.u32())
		p.X, p.Y = r.i32(), r.i32()
		p.Aim, p.Health = uint16(r.max(AimSteps-1)), uint8(r.max(255))
		p.NextFire, p.RespawnTick, p.Deaths, p.Kills = r.u32(), r.u32(), r.u32(), r.u32()
		p.KilledBy = PlayerID(r.u32())
		p.In = Input{Buttons: Buttons(r.max(255)), Aim: uint16(r.max(65535)), ViewTick: r.u32()}
	}
	n = r.count(7)
	w.Projectiles = make([]Projectile, n)
	for k := range w.Projectiles {
		pr := &w.Projectiles[k]
		pr.ID, pr.Owner, pr.SpawnTick = r.u32(), PlayerID(r.u32()), r.u32()
		pr.X, pr.Y = r.i32(), r.i32()
		pr.Aim, pr.Rewind = uint16(r.max(AimSteps-1)), r.u32()
	}
	n = r.count(2)
	if n > 0 {
		w.past = make([]pastTick, n)
		for k := range w.past {
			pt := &w.past[k]
			pt.tick = r.u32()
			pt.players = make([]pastPlayer, r.count(4))
			for j := range pt.players {
				pp := &pt.players[j]
				pp.id = PlayerID(r.u32())
				pp.x, pp.y = r.i32(), r.i32()
				pp.alive = r.max(1) == 1
			}
		}
	}
	if r.err || len(r.buf) != 0 {
		return nil, ErrSaved
	}
	return w, nil
}

// savedReader reads varints; after the first error everything reads 0.
type savedReader struct {
	buf []byte
	err bool
}

func (r *savedReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err, r.buf = true, nil
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *savedReader) max(hi uint64) uint64 {
	v := r.uvarint()
	if v > hi {
		r.err = true
		return 0
	}
	return v
}

func (r *savedReader) u32() uint32 { return uint32(r.max(1<<32 - 1)) }

func (r *savedReader) i32() int32 {
	v, n := binary.Varint(r.buf)
	if n <= 0 || v != int64(int32(v)) {
		r.err, r.buf = true, nil
		return 0
	}
	r.buf = r.buf[n:]
	return int32(v)
}

// count reads an element count that could fit in what is left, each
// element taking at least min bytes.
func (r *savedReader) count(min int) int {
	v := r.uvarint()
	if v > uint64(len(r.buf)/min) {
		r.err = true
		return 0
	}
	return int(v)
}

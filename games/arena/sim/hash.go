package sim

// Hash returns an FNV-1a hash of every snapshot field of s, for determinism
// checks. Player inputs (Player.In) are not included.
func (s *State) Hash() uint64 {
	h := fnv{h: 14695981039346656037}
	h.u32(s.Tick)
	h.u32(s.NextProjectile)
	h.u32(uint32(len(s.Players)))
	for i := range s.Players {
		p := &s.Players[i]
		h.u32(uint32(p.ID))
		h.u32(uint32(p.X))
		h.u32(uint32(p.Y))
		h.u32(uint32(p.Aim))
		h.u32(uint32(p.Health))
		h.u32(p.NextFire)
		h.u32(p.RespawnTick)
		h.u32(p.Deaths)
		h.u32(p.Kills)
		h.u32(uint32(p.KilledBy))
	}
	h.u32(uint32(len(s.Projectiles)))
	for i := range s.Projectiles {
		pr := &s.Projectiles[i]
		h.u32(pr.ID)
		h.u32(uint32(pr.Owner))
		h.u32(pr.SpawnTick)
		h.u32(uint32(pr.X))
		h.u32(uint32(pr.Y))
		h.u32(uint32(pr.Aim))
	}
	return h.h
}

type fnv struct{ h uint64 }

func (f *fnv) u32(v uint32) {
	for range 4 {
		f.h ^= uint64(v & 0xff)
		f.h *= 1099511628211
		v >>= 8
	}
}

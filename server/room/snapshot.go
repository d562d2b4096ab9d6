package room

import (
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
)

// snapshot records the match's replicated state of tick and offers each
// member its delta from the state it acknowledged, encoding once per
// distinct baseline (and, for a game that filters what members see, once
// per distinct pair of what a member saw then and sees now).
func (r *Room) snapshot(tick uint32) {
	target, slot := r.hist.slot()
	target.Tick = tick
	r.match.Replicate(target)
	r.hist.push()
	r.cache.reset()
	gone := false
	for _, m := range r.members {
		acked := m.acked.Load()
		if r.cfg.FullSnapshots {
			acked = 0
		}
		base, baseSlot := r.hist.find(acked)
		var age uint32
		if base != nil {
			age = tick - acked
		} else {
			acked = 0
			r.fullSnaps.Add(1)
		}
		key := cacheKey{base: acked}
		var vis, baseVis *game.Visibility
		if r.viewer != nil {
			vis = &m.vis[slot]
			vis.Reset(target)
			r.viewer.Visible(target, m.player, vis)
			m.seen[slot] = seen{tick: tick, hash: vis.Hash()}
			key.vis = m.seen[slot].hash
			if base != nil && m.seen[baseSlot].tick != acked {
				// The member acknowledged a state it was never sent: it gets
				// a full one.
				base, acked, age, key.base = nil, 0, 0, 0
				r.fullSnaps.Add(1)
			}
			if base != nil {
				baseVis = &m.vis[baseSlot]
				key.baseVis = m.seen[baseSlot].hash
			}
		}
		state := r.cache.get(key, vis, baseVis)
		if state == nil {
			r.encodes.Add(1)
			start := len(r.cache.buf)
			r.cache.buf = r.enc.Append(r.cache.buf, base, baseVis, target, vis)
			state = r.cache.add(key, start, vis, baseVis)
		}
		r.frame = netcode.AppendSnapshotFrame(r.frame[:0], tick, age, m.inputAck, state)
		if r.cfg.Totals != nil {
			r.tally.frame(len(r.frame))
		}
		if !m.out.OfferSnapshot(r.frame) {
			m.removed = true // its connection closed; drop the seat below
			gone = true
		}
	}
	r.snapshots.Add(uint64(len(r.members)))
	if gone {
		r.sweep(nil)
	}
}

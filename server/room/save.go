package room

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode/outbox"
)

// A saved room is its match and everything the engine keeps of it, in one
// versioned byte string:
//
//	"ARM" version game-name config context next-player snapshot-phase
//	members match
//
// config is the tick rate, snapshot rate, capacity, seed and game
// parameters the match was created with (a restored room keeps them, so
// it steps exactly as the saved one would); context the tick and random
// source; each member its player id, name, spectator and held flags, the
// newest snapshot it acknowledged, and its input queue (the sequence number
// applied, the inputs waiting, the catch-up state); match is what the
// game's Save wrote. Strings and byte strings are uvarint-length-prefixed,
// numbers uvarints.

const saveVersion = 1

var saveMagic = []byte("ARM")

// ErrSaved means saved room bytes do not decode, or are of another game.
var ErrSaved = errors.New("room: malformed saved room")

// Save serializes the room's whole state on its goroutine, between two
// ticks, and returns it. Restore continues it, in this process or another.
func (r *Room) Save(ctx context.Context) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	if err := r.post(ctx, func() {
		b, err := r.save(nil)
		ch <- result{b, err}
	}); err != nil {
		return nil, err
	}
	select {
	case res := <-ch:
		return res.b, res.err
	case <-r.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// save appends the saved room to dst; it runs on the room goroutine.
func (r *Room) save(dst []byte) ([]byte, error) {
	w := saveWriter{buf: append(append(dst, saveMagic...), saveVersion)}
	w.str(r.def.Name)
	w.u(uint64(r.cfg.TickRate))
	w.u(uint64(r.cfg.SnapshotRate))
	w.u(uint64(r.cfg.Capacity))
	w.u(r.cfg.Seed)
	keys := make([]string, 0, len(r.cfg.Params))
	for k := range r.cfg.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.u(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(r.cfg.Params[k])
	}
	c, err := r.ctx.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	w.bytes(c)
	w.u(uint64(r.nextPlayer))
	w.u(uint64(r.snapAcc))
	var kept []*Member
	for _, m := range r.members {
		if !m.removed {
			kept = append(kept, m)
		}
	}
	w.u(uint64(len(kept)))
	for _, m := range kept {
		w.u(uint64(m.player))
		w.str(m.name)
		w.flag(m.spectator)
		w.flag(m.held)
		w.u(uint64(m.acked.Load()))
		q := &m.inputs
		q.mu.Lock()
		w.u(uint64(q.applied))
		w.u(uint64(q.n))
		for _, p := range q.pending[:q.n] {
			w.u(uint64(p.seq))
			w.u(uint64(p.viewTick))
			w.bytes(p.data[:p.n])
		}
		w.u(uint64(q.owed))
		w.u(uint64(q.idle))
		w.u(uint64(q.minDepth))
		w.u(uint64(q.window))
		w.flag(q.surplus)
		w.u(q.dropped)
		w.u(q.starved)
		w.u(q.spared)
		q.mu.Unlock()
	}
	w.bytes(r.match.Save(nil))
	return w.buf, nil
}

// Restore starts a room that continues a saved one under id, with cfg's
// logger, totals and timings but the saved match's game settings (tick
// rate, snapshot rate, capacity, seed, parameters): cfg.Game must be the
// saved room's game. Members come back held, each with an outbox of its
// own and no connection, keeping their seats and queued inputs; a session
// that takes one over attaches its transport to it (Member.Outbox).
func Restore(id string, cfg Config, saved []byte, onClose func(*Room)) (*Room, error) {
	r, err := restore(id, cfg, saved, onClose)
	if err != nil {
		return nil, err
	}
	r.start()
	return r, nil
}

// restore builds the room without starting its goroutine.
func restore(id string, cfg Config, saved []byte, onClose func(*Room)) (*Room, error) {
	if cfg.Game == nil {
		return nil, fmt.Errorf("%w: no game", ErrConfig)
	}
	rd := saveReader{buf: saved}
	if !rd.prefix(saveMagic) || rd.u() != saveVersion {
		return nil, ErrSaved
	}
	if name := rd.str(); name != cfg.Game.Name {
		return nil, fmt.Errorf("%w: a %s match, not %s", ErrSaved, name, cfg.Game.Name)
	}
	cfg.TickRate, cfg.SnapshotRate = uint32(rd.u()), uint32(rd.u())
	cfg.Capacity, cfg.Seed = int(rd.u()), rd.u()
	cfg.Params = nil
	for range rd.count(2) {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		k := rd.str()
		cfg.Params[k] = rd.str()
	}
	if rd.err {
		return nil, ErrSaved
	}
	r, err := prepare(id, cfg, onClose)
	if err != nil {
		return nil, err
	}
	r.ctx, err = game.RestoreContext(r, rd.bytes())
	if err != nil {
		return nil, err
	}
	r.nextPlayer = game.PlayerID(rd.u())
	r.snapAcc = uint32(rd.u())
	n := rd.count(8)
	var members []*Member
	for range n {
		m := &Member{room: r, out: outbox.New(0), held: true}
		m.player = game.PlayerID(rd.u())
		m.name = rd.str()
		m.spectator = rd.flag()
		m.savedHeld = rd.flag() // Restore holds every member; RestoreWith keeps this
		m.acked.Store(uint32(rd.u()))
		q := &m.inputs
		q.applied = uint32(rd.u())
		q.n = int(rd.u())
		if q.n > inputQueueLen {
			return nil, ErrSaved
		}
		for i := range q.pending[:q.n] {
			p := &q.pending[i]
			p.seq, p.viewTick = uint32(rd.u()), uint32(rd.u())
			data := rd.bytes()
			if len(data) > game.MaxInputSize {
				return nil, ErrSaved
			}
			p.n = uint8(copy(p.data[:], data))
		}
		q.owed, q.idle, q.minDepth, q.window = int(rd.u()), uint32(rd.u()), int(rd.u()), int(rd.u())
		q.surplus = rd.flag()
		q.dropped, q.starved, q.spared = rd.u(), rd.u(), rd.u()
		members = append(members, m)
	}
	matchBytes := rd.bytes()
	if rd.err || len(rd.buf) != 0 {
		return nil, ErrSaved
	}
	m, err := r.def.Restore(r.gameConfig(), matchBytes)
	if err != nil {
		return nil, fmt.Errorf("room: restore %s match: %w", r.def.Name, err)
	}
	r.setMatch(m)
	for _, m := range members {
		m.init()
		if m.spectator {
			r.watchers.Add(1)
		} else {
			r.seats.Add(1)
		}
	}
	r.members = members
	r.tickNow.Store(r.ctx.Tick())
	return r, nil
}

// Hash is a hash of the match's whole saved state (the game's Save): equal
// hashes mean equal matches, for determinism checks. It runs on the room
// goroutine of a room that is not started (tests and tools).
func (r *Room) hash() uint64 {
	b := r.match.Save(nil)
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h ^ uint64(r.ctx.Tick())<<32
}

type saveWriter struct{ buf []byte }

func (w *saveWriter) u(v uint64)     { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *saveWriter) str(s string)   { w.u(uint64(len(s))); w.buf = append(w.buf, s...) }
func (w *saveWriter) bytes(b []byte) { w.u(uint64(len(b))); w.buf = append(w.buf, b...) }
func (w *saveWriter) flag(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// saveReader reads what saveWriter wrote; after the first error every read
// gives zero values and err stays set.
type saveReader struct {
	buf []byte
	err bool
}

func (r *saveReader) prefix(p []byte) bool {
	if len(r.buf) < len(p) || string(r.buf[:len(p)]) != string(p) {
		r.err = true
		return false
	}
	r.buf = r.buf[len(p):]
	return true
}

func (r *saveReader) u() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err, r.buf = true, nil
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *saveReader) bytes() []byte {
	n := r.u()
	if r.err || n > uint64(len(r.buf)) {
		r.err, r.buf = true, nil
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *saveReader) str() string { return string(r.bytes()) }

func (r *saveReader) flag() bool {
	if len(r.buf) == 0 || r.buf[0] > 1 {
		r.err, r.buf = true, nil
		return false
	}
	v := r.buf[0] == 1
	r.buf = r.buf[1:]
	return v
}

// count reads an element count that could fit in what is left, each
// element taking at least min bytes.
func (r *saveReader) count(min int) int {
	v := r.u()
	if v > uint64(len(r.buf)/min) {
		r.err = true
		return 0
	}
	return int(v)
}

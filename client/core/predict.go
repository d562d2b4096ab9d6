package core

import (
	"math"

	"github.com/arenaserver/arena/game"
)

// predLogSize is how many sent inputs the predictor remembers; more than the
// protocol client keeps unacknowledged (128), so a replay never lacks one.
const predLogSize = 256

// predEntry is one sent input and the own entity's row as predicted once
// the server has applied it.
type predEntry struct {
	seq      uint32
	in       []byte // the input's bytes, the entry's own copy
	viewTick uint32
	row      []int64 // the own row after the input; valid when rowOK
	rowOK    bool
}

// predictor runs client-side prediction and reconciliation of the own
// player for any game with a game.Client. It is pure: no clock, no
// network. Owned by the game goroutine.
//
// Each input sent is applied at once to the predicted table with the
// game's own step code (Client.Predict). Each snapshot rewinds to the
// server's state (a copy of the snapshot's table) and replays every input
// the server has not applied yet (sequence numbers above the snapshot's
// input_ack), input seq at tick baseTick+(seq-ack).
//
// When a snapshot newly acknowledges input seq (later snapshots with the
// same input_ack compare nothing more), the server's own entity is
// compared with the row predicted after seq: it is a check when no field
// that the game does not predict differs (nothing unexpected touched the
// player: no hit, no death, no score), and a correction when a predicted
// field differs. With nobody else touching the player it never happens.
type predictor struct {
	client game.Client
	self   game.PlayerID
	kind   int // the schema's player kind; -1 when it has none
	fields []game.Field

	log     [predLogSize]predEntry
	lastSeq uint32 // newest input sent

	// The newest snapshot's tick and input_ack.
	baseTick uint32
	ack      uint32

	// pred is the newest snapshot with every input sent since its ack
	// applied; predOK once a snapshot has arrived.
	pred   game.Table
	predOK bool

	// off is the visual error still being smoothed away after a
	// correction, per field of the player kind (only fields both
	// Predicted and Interpolate are smoothed); display = pred + off.
	off     []float64
	oldRow  []int64    // scratch: the own row before a reconciliation
	display game.Table // pred with off applied, when off is not zero

	checks      uint64 // predictions compared with the server
	corrections uint64 // of which the server disagreed
}

func newPredictor(client game.Client, schema *game.Schema, self game.PlayerID) *predictor {
	p := &predictor{client: client, self: self, kind: schema.PlayerKind()}
	if p.kind >= 0 {
		p.fields = schema.Kinds[p.kind].Fields
		p.off = make([]float64, len(p.fields))
	}
	return p
}

// sent records input seq (its bytes are copied) with its view tick and
// advances the prediction by it.
func (p *predictor) sent(seq uint32, in []byte, viewTick uint32) {
	p.lastSeq = seq
	e := &p.log[seq%predLogSize]
	e.seq, e.in, e.viewTick, e.rowOK = seq, append(e.in[:0], in...), viewTick, false
	if !p.predOK {
		return
	}
	p.apply(e)
}

// apply runs e's input on the predicted table and records the own row.
func (p *predictor) apply(e *predEntry) {
	p.client.Predict(&p.pred, p.self, game.Input{Data: e.in, Seq: e.seq, ViewTick: e.viewTick}, p.baseTick+(e.seq-p.ack))
	if row := p.own(&p.pred); row != nil {
		e.row, e.rowOK = append(e.row[:0], row...), true
	}
}

// own returns the own entity's row in t, or nil.
func (p *predictor) own(t *game.Table) []int64 {
	if p.kind < 0 || p.self == 0 {
		return nil
	}
	return t.Get(p.kind, uint32(p.self))
}

// snapshot reconciles with the server's state newest at tick, which has
// applied inputs up to ack. It reports whether this snapshot was a
// correction.
func (p *predictor) snapshot(tick, ack uint32, newest *game.Table) (corrected bool) {
	server := p.own(newest)
	if e := &p.log[ack%predLogSize]; ack > p.ack && e.seq == ack && e.rowOK && server != nil {
		unexpected, differs := false, false
		for f := range p.fields {
			if e.row[f] == server[f] {
				continue
			}
			if p.fields[f].Predicted {
				differs = true
			} else {
				unexpected = true
			}
		}
		if !unexpected {
			p.checks++
			if differs {
				p.corrections++
				corrected = true
			}
		}
	}
	oldOK := false
	if p.predOK {
		if old := p.own(&p.pred); old != nil {
			p.oldRow, oldOK = append(p.oldRow[:0], old...), true
		}
	}
	p.pred.CopyFrom(newest)
	p.baseTick, p.ack, p.predOK = tick, ack, true
	if p.lastSeq > ack && p.lastSeq-ack < predLogSize {
		for seq := ack + 1; seq <= p.lastSeq; seq++ {
			e := &p.log[seq%predLogSize]
			if e.seq != seq {
				break
			}
			p.apply(e)
		}
	}
	p.smooth(oldOK)
	return corrected
}

// smooth carries a change of the own entity's drawn position across a
// reconciliation into the smoothing offset, so it glides instead of
// snapping; a jump (a Jump field changed: death, respawn, teleport) is
// shown at once. Without a disagreement the replayed prediction equals the
// old one and nothing changes.
func (p *predictor) smooth(oldOK bool) {
	now := p.own(&p.pred)
	if now == nil {
		clear(p.off)
		return
	}
	if !oldOK {
		return
	}
	for f := range p.fields {
		if p.fields[f].Jump && p.oldRow[f] != now[f] {
			clear(p.off)
			return
		}
	}
	for f := range p.fields {
		if fd := &p.fields[f]; fd.Predicted && fd.Interpolate && p.oldRow[f] != now[f] {
			p.off[f] += delta(float64(now[f]), float64(p.oldRow[f]), fd.Wrap)
		}
	}
}

// decay shrinks the smoothing offset: about 90 % of it goes in 100 ms.
func (p *predictor) decay(dt float64) {
	k := 1 - min(dt*23, 1) // e^(-23·0.1) ≈ 0.1
	sum := 0.0
	for f := range p.off {
		p.off[f] *= k
		sum += p.off[f] * p.off[f]
	}
	if sum < 1 {
		clear(p.off)
	}
}

// smoothing reports whether an offset is being smoothed away.
func (p *predictor) smoothing() bool {
	for _, o := range p.off {
		if o != 0 {
			return true
		}
	}
	return false
}

// shown is the predicted table as drawn: the prediction plus what is left
// of the smoothing offset. It is the prediction itself when nothing is
// being smoothed; either way the caller only reads it.
func (p *predictor) shown() *game.Table {
	if !p.smoothing() {
		return &p.pred
	}
	p.display.CopyFrom(&p.pred)
	row := p.own(&p.display)
	if row == nil {
		return &p.display
	}
	for f, o := range p.off {
		if o == 0 {
			continue
		}
		v := math.Round(float64(row[f]) + o)
		if w := p.fields[f].Wrap; w != 0 {
			v = wrapTo(v, w)
		}
		row[f] = int64(v)
	}
	return &p.display
}

// pending is how many sent inputs the newest snapshot has not applied.
func (p *predictor) pending() uint32 {
	if p.lastSeq < p.ack {
		return 0
	}
	return p.lastSeq - p.ack
}

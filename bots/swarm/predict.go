package swarm

import "github.com/arenaserver/arena/game"

// predictLog is the number of own-player predictions a bot remembers, by
// input sequence number: more than the inputs a bot lets go unacknowledged
// before it stops predicting (maxPending).
const predictLog = 128

// maxPending is how many unacknowledged inputs a bot replays at most; past
// it (the server is not applying them) it stops predicting until a snapshot
// acknowledges more.
const maxPending = 100

// predictor predicts a bot's own player with its game's Client and checks
// the predictions against the server's snapshots, whatever the game.
//
// For each input it sends, the input loop replays onto a copy of the newest
// snapshot's table every input the server had not applied yet, this one
// included, with Client.Predict, and records the player's row: the
// Predicted fields as predicted, the others as the snapshot had them. When
// a snapshot acknowledges that input, the read goroutine compares: a
// Predicted field that differs is a miss (a correction a player would see).
// Two cases skip the comparison, since the client could not have known:
//
//   - an interaction: a field the client does not predict changed (a hit,
//     a death, a respawn, a kill);
//   - a retimed schedule: the client predicts input s at tick
//     base tick + (s − base ack), one input a tick after the one the base
//     acknowledged, but the snapshots in between show that the server
//     applied them on other ticks (an input arrived late and the player
//     stood still a tick; the room drained a backlog; the first inputs,
//     before the server had applied any). Moves do not depend on the tick,
//     but a game's rule may (the arena's fire cooldown), so only
//     predictions whose schedule the snapshots confirm are compared.
//
// The input loop owns the tables and the sent inputs; the recorded rows
// (rec) and the snapshots seen are guarded by the bot's mutex.
type predictor struct {
	client    game.Client
	self      game.PlayerID
	kind      int    // the schema's player kind
	predicted []bool // per field of the player kind: Predicted

	// Owned by the input loop.
	sent    [predictLog][]byte // input bytes by seq%predictLog
	lastSeq uint32             // newest input sent
	table   *game.Table        // base with the inputs up to lastSeq replayed
	valid   bool               // table is base with every input up to lastSeq replayed
	base    *game.Table        // the snapshot table was built from
	baseAck uint32             // base's input ack
	row     []int64            // the row sentInput returns

	// Guarded by the bot's mutex.
	rec  [predictLog]record
	seen [seenLog]tickAck // the newest snapshots' ticks and acks, by arrival % seenLog
	n    int              // snapshots seen
}

// record is the own player's row expected once the server applied input
// seq, predicted from a snapshot at baseTick that acknowledged baseAck.
type record struct {
	seq               uint32 // 0: none
	baseTick, baseAck uint32
	row               []int64
}

// tickAck is a snapshot's tick and input ack.
type tickAck struct{ tick, ack uint32 }

// seenLog is how many snapshots back a prediction's schedule is confirmed:
// two seconds at 30 snapshots a second, more than maxPending inputs take.
const seenLog = 64

// newPredictor returns nil when the game has no Client, no player kind or
// no Predicted field, or when the bot spectates: there is nothing to check.
func newPredictor(c game.Client, schema *game.Schema, self game.PlayerID) *predictor {
	k := schema.PlayerKind()
	if c == nil || k < 0 || self == 0 {
		return nil
	}
	p := &predictor{client: c, self: self, kind: k, table: game.NewTable(schema)}
	any := false
	for _, f := range schema.Kinds[k].Fields {
		p.predicted = append(p.predicted, f.Predicted)
		any = any || f.Predicted
	}
	if !any {
		return nil
	}
	return p
}

// tickOf is the tick at which the server is expected to apply input seq: one
// input a tick after the one the base snapshot acknowledged, which the
// server applied at the base's tick.
func (p *predictor) tickOf(seq uint32) uint32 { return p.base.Tick + (seq - p.baseAck) }

// rebase makes base (the newest snapshot, acknowledging inputs up to ack)
// the start of the prediction and replays the inputs sent since. It reports
// whether the prediction is valid.
func (p *predictor) rebase(base *game.Table, ack uint32) bool {
	p.base, p.baseAck, p.valid = base, ack, false
	if ack > p.lastSeq || p.lastSeq-ack >= maxPending || base.Get(p.kind, uint32(p.self)) == nil {
		return false
	}
	p.table.CopyFrom(base)
	for s := ack + 1; s <= p.lastSeq; s++ {
		p.client.Predict(p.table, p.self, game.Input{Data: p.sent[s%predictLog], Seq: s}, p.tickOf(s))
	}
	p.valid = true
	return true
}

// sentInput records input seq (copied) and advances the prediction by it.
// It returns the row to record for seq (valid until the next call), or nil
// when there is no valid prediction.
func (p *predictor) sentInput(seq uint32, input []byte) []int64 {
	p.sent[seq%predictLog] = append(p.sent[seq%predictLog][:0], input...)
	prev := p.lastSeq
	p.lastSeq = seq
	if !p.valid || seq != prev+1 || seq-p.baseAck >= maxPending {
		p.valid = false
		return nil
	}
	p.client.Predict(p.table, p.self, game.Input{Data: input, Seq: seq}, p.tickOf(seq))
	pred := p.table.Get(p.kind, uint32(p.self))
	base := p.base.Get(p.kind, uint32(p.self))
	if pred == nil || base == nil {
		return nil
	}
	// The Predicted fields as predicted; the others keep the base's
	// values: a change in one of them is an interaction.
	p.row = append(p.row[:0], base...)
	for f, isPred := range p.predicted {
		if isPred {
			p.row[f] = pred[f]
		}
	}
	return p.row
}

// record keeps row as the prediction for seq, made from the base the
// input loop last rebased on. Called with the bot's mutex held.
func (p *predictor) record(seq uint32, row []int64) {
	r := &p.rec[seq%predictLog]
	r.seq, r.baseTick, r.baseAck = seq, p.base.Tick, p.baseAck
	r.row = append(r.row[:0], row...)
}

// outcome is what checking a snapshot against a prediction gave.
type outcome int

const (
	noPrediction outcome = iota // none recorded for the snapshot's input ack
	interaction                 // skipped: an unpredicted field changed
	retimed                     // skipped: the server applied the inputs on other ticks
	agreed                      // compared: the server agrees
	missed                      // compared: a Predicted field differs
)

// check notes snapshot t (its tick, input ack ack) and compares the
// prediction for input ack with it. Each prediction is compared once.
// Called with the bot's mutex held.
func (p *predictor) check(t *game.Table, ack uint32) outcome {
	p.seen[p.n%seenLog] = tickAck{t.Tick, ack}
	p.n++
	r := &p.rec[ack%predictLog]
	if ack == 0 || r.seq != ack {
		return noPrediction
	}
	r.seq = 0
	server := t.Get(p.kind, uint32(p.self))
	if server == nil || len(server) != len(r.row) {
		return noPrediction
	}
	for f, pred := range p.predicted {
		if !pred && server[f] != r.row[f] {
			return interaction // the server knew more
		}
	}
	if !p.onSchedule(r.baseTick, r.baseAck) {
		return retimed
	}
	for f, pred := range p.predicted {
		if pred && server[f] != r.row[f] {
			return missed
		}
	}
	return agreed
}

// onSchedule reports whether every snapshot since the one at baseTick
// (which acknowledged baseAck), the newest included, acknowledges exactly
// one more input per tick: the server applied the predicted inputs on the
// ticks the prediction assumed. False when those snapshots are no longer
// all remembered.
func (p *predictor) onSchedule(baseTick, baseAck uint32) bool {
	for i := p.n - 1; i >= 0 && i >= p.n-seenLog; i-- {
		s := p.seen[i%seenLog]
		if s.tick <= baseTick {
			return true
		}
		if s.ack != baseAck+(s.tick-baseTick) {
			return false
		}
	}
	return false
}

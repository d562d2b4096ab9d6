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
// An interaction skips the comparison: a field the client does not predict
// changed (a hit, a death, a respawn, a kill), so the server knew more.
//
// The client cannot know on which tick the server applies an input: it
// assumes input s at tick base tick + (s − base ack), one input a tick
// after the one the base acknowledged. Moves do not depend on the tick,
// but a game's rule may (the arena's fire cooldown). So the input loop
// also replays copies with every input applied later (probeShifts), and a
// Predicted field that comes out different in one depends on the ticks
// (timed). The
// timed fields are compared only when the snapshots in between confirm the
// schedule (each acknowledges exactly one more input a tick); otherwise
// (an input arrived late and the player stood still a tick, the room
// drained a backlog, the first inputs before the server had applied any)
// the comparison leaves them out and counts as retimed. A game without
// TickInputs sends inputs now and then, so its timed fields are rarely
// confirmed.
//
// The input loop owns the tables and the sent inputs; the recorded rows
// (rec) and the snapshots seen are guarded by the bot's mutex.
type predictor struct {
	client    game.Client
	self      game.PlayerID
	kind      int    // the schema's player kind
	predicted []bool // per field of the player kind: Predicted

	// Owned by the input loop.
	sent    [predictLog][]byte            // input bytes by seq%predictLog
	lastSeq uint32                        // newest input sent
	table   *game.Table                   // base with the inputs up to lastSeq replayed
	late    [len(probeShifts)]*game.Table // the same, each input applied probeShifts later
	valid   bool                          // table and late hold every input up to lastSeq
	base    *game.Table                   // the snapshot table was built from
	baseAck uint32                        // base's input ack
	row     []int64                       // the row sentInput returns

	// Guarded by the bot's mutex.
	rec  [predictLog]record
	seen [seenLog]tickAck // the newest snapshots' ticks and acks, by arrival % seenLog
	n    int              // snapshots seen
}

// record is the own player's row expected once the server applied input
// seq, predicted from a snapshot at baseTick that acknowledged baseAck;
// timed has bit f set when field f depends on the ticks assumed.
type record struct {
	seq               uint32 // 0: none
	baseTick, baseAck uint32
	timed             uint64
	row               []int64
}

// tickAck is a snapshot's tick and input ack.
type tickAck struct{ tick, ack uint32 }

// probeShifts are the delays, in ticks, with which the predictor replays
// its inputs again to find the fields that depend on the ticks: one tick
// (a rule on the tick's parity, say) and the room's input queue (a rule
// with a threshold, such as a cooldown a press may reach only later).
var probeShifts = [...]uint32{1, 8}

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
	for i := range p.late {
		p.late[i] = game.NewTable(schema)
	}
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

// apply advances the prediction and the probes by input seq.
func (p *predictor) apply(seq uint32, input []byte) {
	in := game.Input{Data: input, Seq: seq}
	p.client.Predict(p.table, p.self, in, p.tickOf(seq))
	for i, shift := range probeShifts {
		p.client.Predict(p.late[i], p.self, in, p.tickOf(seq)+shift)
	}
}

// rebase makes base (the newest snapshot, acknowledging inputs up to ack)
// the start of the prediction and replays the inputs sent since. It reports
// whether the prediction is valid.
func (p *predictor) rebase(base *game.Table, ack uint32) bool {
	p.base, p.baseAck, p.valid = base, ack, false
	if ack > p.lastSeq || p.lastSeq-ack >= maxPending || base.Get(p.kind, uint32(p.self)) == nil {
		return false
	}
	p.table.CopyFrom(base)
	for _, t := range p.late {
		t.CopyFrom(base)
	}
	for s := ack + 1; s <= p.lastSeq; s++ {
		p.apply(s, p.sent[s%predictLog])
	}
	p.valid = true
	return true
}

// sentInput records input seq (copied) and advances the prediction by it.
// It returns the row to record for seq (valid until the next call) and its
// timed fields, or nil when there is no valid prediction.
func (p *predictor) sentInput(seq uint32, input []byte) (row []int64, timed uint64) {
	p.sent[seq%predictLog] = append(p.sent[seq%predictLog][:0], input...)
	prev := p.lastSeq
	p.lastSeq = seq
	if !p.valid || seq != prev+1 || seq-p.baseAck >= maxPending {
		p.valid = false
		return nil, 0
	}
	p.apply(seq, input)
	pred := p.table.Get(p.kind, uint32(p.self))
	base := p.base.Get(p.kind, uint32(p.self))
	if pred == nil || base == nil {
		return nil, 0
	}
	// The Predicted fields as predicted; the others keep the base's
	// values: a change in one of them is an interaction.
	p.row = append(p.row[:0], base...)
	for f, isPred := range p.predicted {
		if isPred {
			p.row[f] = pred[f]
		}
	}
	for _, t := range p.late {
		late := t.Get(p.kind, uint32(p.self))
		for f, isPred := range p.predicted {
			if isPred && (late == nil || late[f] != pred[f]) {
				timed |= 1 << f
			}
		}
	}
	return p.row, timed
}

// record keeps row as the prediction for seq, made from the base the
// input loop last rebased on. Called with the bot's mutex held.
func (p *predictor) record(seq uint32, row []int64, timed uint64) {
	r := &p.rec[seq%predictLog]
	r.seq, r.baseTick, r.baseAck, r.timed = seq, p.base.Tick, p.baseAck, timed
	r.row = append(r.row[:0], row...)
}

// outcome is what checking a snapshot against a prediction gave.
type outcome struct {
	compared bool // a prediction was compared
	missed   bool // a compared field differs
	// interaction: not compared, an unpredicted field changed.
	interaction bool
	// retimed: compared without the timed fields, since the server
	// applied the inputs on other ticks than assumed.
	retimed bool
}

// check notes snapshot t (its tick, input ack ack) and compares the
// prediction for input ack with it. Each prediction is compared once.
// Called with the bot's mutex held.
func (p *predictor) check(t *game.Table, ack uint32) (o outcome) {
	p.seen[p.n%seenLog] = tickAck{t.Tick, ack}
	p.n++
	r := &p.rec[ack%predictLog]
	if ack == 0 || r.seq != ack {
		return o
	}
	r.seq = 0
	server := t.Get(p.kind, uint32(p.self))
	if server == nil || len(server) != len(r.row) {
		return o
	}
	for f, pred := range p.predicted {
		if !pred && server[f] != r.row[f] {
			o.interaction = true // the server knew more
			return o
		}
	}
	skip := uint64(0)
	if r.timed != 0 && !p.onSchedule(r.baseTick, r.baseAck) {
		skip, o.retimed = r.timed, true
	}
	o.compared = true
	for f, pred := range p.predicted {
		if pred && skip&(1<<f) == 0 && server[f] != r.row[f] {
			o.missed = true
		}
	}
	return o
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

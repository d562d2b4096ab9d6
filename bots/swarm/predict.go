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
// the predictions against the server's snapshots, whatever the game, as
// the desktop client's core counts its corrections.
//
// For each input it sends, the input loop replays onto a copy of the newest
// snapshot's table every input the server had not applied yet, this one
// included, input s at tick base tick + (s − base ack), with
// Client.Predict, and records the player's row. When a snapshot newly
// acknowledges that input, the read goroutine compares the server's row
// with it: a field the game does not mark Predicted that differs means
// something the bot could not foresee touched the player (a hit, a death,
// a kill; in the arena also the fire cooldown moved by a late input), and
// skips the comparison (an interaction); otherwise it is a check, and a
// miss (a correction a player would see) when a Predicted field differs.
//
// The input loop owns the table and the sent inputs; the recorded rows
// (rec) are guarded by the bot's mutex.
type predictor struct {
	client    game.Client
	self      game.PlayerID
	kind      int    // the schema's player kind
	predicted []bool // per field of the player kind: Predicted

	// Owned by the input loop.
	sent    [predictLog][]byte // input bytes by seq%predictLog
	lastSeq uint32             // newest input sent
	table   *game.Table        // base with the inputs up to lastSeq replayed
	valid   bool               // table holds every input up to lastSeq
	base    *game.Table        // the snapshot table was built from
	baseAck uint32             // base's input ack

	// Guarded by the bot's mutex.
	rec   [predictLog]record
	acked uint32 // the newest input ack compared
}

// record is the own player's row expected once the server applied input
// seq.
type record struct {
	seq uint32 // 0: none
	row []int64
}

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
// It returns the own row predicted once the server applied it (it aliases
// the table: record it before the next call), or nil when there is no
// valid prediction.
func (p *predictor) sentInput(seq uint32, input []byte) []int64 {
	p.sent[seq%predictLog] = append(p.sent[seq%predictLog][:0], input...)
	prev := p.lastSeq
	p.lastSeq = seq
	if !p.valid || seq != prev+1 || seq-p.baseAck >= maxPending {
		p.valid = false
		return nil
	}
	p.client.Predict(p.table, p.self, game.Input{Data: input, Seq: seq}, p.tickOf(seq))
	return p.table.Get(p.kind, uint32(p.self))
}

// record keeps row as the prediction for seq. Called with the bot's mutex
// held.
func (p *predictor) record(seq uint32, row []int64) {
	r := &p.rec[seq%predictLog]
	r.seq = seq
	r.row = append(r.row[:0], row...)
}

// outcome is what a snapshot's comparison gave.
type outcome int

const (
	noCheck     outcome = iota // no new input acknowledged, or none predicted
	interaction                // not compared: a field not predicted differs
	agreed                     // compared: the server agrees
	missed                     // compared: a Predicted field differs
)

// check compares the prediction for input ack, when the snapshot t newly
// acknowledges it, with the server's row. Called with the bot's mutex
// held.
func (p *predictor) check(t *game.Table, ack uint32) outcome {
	if ack <= p.acked {
		return noCheck // compared already (a later snapshot without a new input)
	}
	p.acked = ack
	r := &p.rec[ack%predictLog]
	if r.seq != ack {
		return noCheck
	}
	server := t.Get(p.kind, uint32(p.self))
	if server == nil || len(server) != len(r.row) {
		return noCheck
	}
	differs := false
	for f, pred := range p.predicted {
		if server[f] == r.row[f] {
			continue
		}
		if !pred {
			return interaction
		}
		differs = true
	}
	if differs {
		return missed
	}
	return agreed
}

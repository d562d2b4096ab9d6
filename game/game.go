package game

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PlayerID names a seated player within one match: 1, 2, 3, ... in join
// order, never reused while the match runs. 0 means nobody (a spectator
// has none).
type PlayerID uint32

// Def describes one game to the engine, the client and the bots. A game
// package exports one (arena.Def); the programs' main packages register
// the games they offer in a Registry.
type Def struct {
	// Name is the game's name in the registry and on the wire: 1..32
	// lowercase letters, digits and '-' (server -game NAME).
	Name string
	// Summary is one line for help texts (server -h).
	Summary string
	// Schema declares what the game replicates.
	Schema *Schema
	// New starts a match. It runs on the room goroutine.
	New func(cfg Config) (Match, error)
	// Restore rebuilds a match from what its Save wrote, under the same
	// Config. Restoring and then stepping must give the same states as
	// never stopping.
	Restore func(cfg Config, saved []byte) (Match, error)
	// CheckInput reports whether data is a well-formed input of this game.
	// The engine calls it on the connection's goroutine before queueing an
	// input, so it must be pure and quick; an input it refuses never
	// reaches the match. Nil accepts any input up to MaxInput bytes.
	CheckInput func(data []byte) error
	// MaxInput bounds one input's size in bytes: 1..MaxInputSize. Default
	// MaxInputSize.
	MaxInput int
	// Seats is the player seats of this game's rooms when the operator does
	// not set a room size (server -room-size): a shared canvas wants more
	// than a duel. 0: the server's default (16).
	Seats int
	// TickInputs says clients send one input every tick (movement: the
	// server stands a player still when its input is late, and the client
	// predicts). When false, a client sends an input only when it has one,
	// and otherwise just acknowledges snapshots.
	TickInputs bool
	// Events lists the names of member events the match handles
	// (Match.Event). Other names go to the server's own handlers.
	Events []string
	// Params documents the settings New accepts in Config.Params (server
	// -game-param NAME=VALUE); the engine refuses any other name.
	Params []Param
	// Client builds the game's client-side rules from the bytes
	// Match.Describe wrote (sent to clients in Joined). Nil for a game
	// whose clients do not predict.
	Client func(describe []byte) (Client, error)
	// Brain returns a bot player (bots -game NAME); nil for a game bots
	// cannot play.
	Brain func(seed uint64) Brain
	// Sketch draws a state for the admin dashboard in a few shapes; nil
	// shows only the room's figures.
	Sketch func(describe []byte, t *Table, s *Sketch)
}

// Param documents one game setting.
type Param struct {
	Name, Default, Usage string
}

// MaxInputSize is the largest input the engine carries, in bytes.
const MaxInputSize = 64

// Config is what a match is created from.
type Config struct {
	// TickRate is simulation ticks per second (10..240).
	TickRate uint32
	// Capacity is the number of player seats (1..256).
	Capacity int
	// Seed makes the match reproducible; Context.Rand starts from it.
	Seed uint64
	// Params are the operator's settings for this game, by Param name.
	Params map[string]string
}

// Match is one running match. The engine calls its methods on the room
// goroutine, one at a time, in this order within a tick: joins, leaves,
// holds and returns as they arrive, then each player's input for the tick,
// then the members' events in arrival order, then Step, and Replicate when
// a snapshot is due.
type Match interface {
	// Join seats player p, named name. An error refuses the seat; its text
	// is shown to the client.
	Join(c *Context, p PlayerID, name string) error
	// Leave: p left, or its hold ran out. The seat is free.
	Leave(c *Context, p PlayerID)
	// Input applies one input of p for the coming Step. A player whose
	// input is late gets no call for that tick; the game decides what a
	// tick without input means (a movement game stands the player still,
	// and the late input comes on a later tick, in order, as its client
	// predicted).
	Input(c *Context, p PlayerID, in Input)
	// Event handles a named event (one of Def.Events) from player p and
	// returns the reply for a client that asked for one (the engine is done
	// with it when the next call starts: a game may reuse one buffer). An
	// error refuses the event; its text goes back to the client.
	// Spectators' events never reach the match; nor do events that arrive
	// once the match has ended.
	Event(c *Context, p PlayerID, name string, payload []byte) (reply []byte, err error)
	// Step advances the match by one tick, to c.Tick().
	Step(c *Context)
	// Replicate writes the state clients see into t (empty, of the game's
	// schema, its Tick set): entities of each kind in increasing id order.
	Replicate(t *Table)
	// Describe returns what a client needs besides snapshots (the map, the
	// rules): sent once in Joined. The engine calls it after New and
	// Restore and keeps the bytes.
	Describe() []byte
	// Save appends the whole state of the match to dst: everything Step
	// depends on, so Restore can continue it.
	Save(dst []byte) []byte
}

// Holder is implemented by a match that wants to know when a player's
// connection is lost (its seat is held for a resume) and when it comes
// back. Without it, a held player simply sends no inputs.
type Holder interface {
	Hold(c *Context, p PlayerID)
	Return(c *Context, p PlayerID)
}

// Viewer is implemented by a match whose members see only part of the
// state (fog of war, an area of interest). The engine calls Visible for
// each member at every snapshot, with v cleared (nothing visible);
// viewer is 0 for a spectator. Members that see the same entities share
// one encoding; each distinct view costs one more.
type Viewer interface {
	Visible(t *Table, viewer PlayerID, v *Visibility)
}

// Sparer is implemented by a movement game that lets the engine drain a
// standing input backlog: when a player has had two or more inputs queued
// at every tick for half a second, the engine applies one extra input in a
// tick (Input.Extra) if Spare says this input may be. A game moves the
// player by an extra input but must not fire or act on it.
type Sparer interface {
	Spare(in []byte) bool
}

// Input is one input of a player for one tick.
type Input struct {
	// Data is the game's bytes, checked by Def.CheckInput. Valid only
	// during the call.
	Data []byte
	// Seq is the input's sequence number (1, 2, 3, ... per player).
	Seq uint32
	// ViewTick is the tick of the world the player was looking at when it
	// made the input (its interpolation time), for lag compensation; 0 when
	// unknown.
	ViewTick uint32
	// Extra marks a catch-up input applied in the same tick as the next one
	// (see Sparer).
	Extra bool
}

// Result is how a match ended, for the members and the lobby.
type Result struct {
	// Summary is one line ("red wins 10 to 7").
	Summary string
	// Standings are the players, best first.
	Standings []Standing
}

// Standing is one player's place in a Result.
type Standing struct {
	Player PlayerID
	Name   string
	Score  int64
}

// ErrUnknownEvent is what Match.Event returns for a name it does not
// handle.
var ErrUnknownEvent = errors.New("game: unknown event")

// Client is a game's rules on the client side.
type Client interface {
	// Predict applies one own input to t, a copy of the newest state that
	// the client owns, as the server's Step will at tick: it changes the
	// player's entity (self, in the player kind) and may add entities the
	// input spawns (with ids the server never gives, such as the top bit
	// set). Running the same step code as the server keeps predictions
	// exact.
	Predict(t *Table, self PlayerID, in Input, tick uint32)
}

// Scene is what a renderer draws and a brain decides on: the room as the
// client sees it now. The client core rebuilds it every frame; its tables
// are reused, so read them during the call only.
type Scene struct {
	Game string
	// Describe is the match's Describe bytes; Client the rules built from
	// them (nil for a game without a client).
	Describe []byte
	Client   Client
	// Self is the own player; 0 for a spectator.
	Self PlayerID
	// Ready is true once a snapshot has arrived; the tables are nil until
	// then (and stay nil for a bot that decodes no state).
	Ready bool
	// Newest is the newest snapshot as received.
	Newest *Table
	// Shown is the state others are drawn at: interpolated at RenderTick
	// for fields marked Interpolate, the later state's values for others.
	Shown *Table
	// Predicted is Newest with the own inputs the server has not applied
	// yet replayed by Client.Predict: where the own player is drawn. Nil
	// when the client does not predict (a spectator, no Client).
	Predicted *Table
	// RenderTick is the (fractional) tick Shown is at; PredictedTick the
	// one Predicted is at.
	RenderTick, PredictedTick float64
	// Names maps players to their display names (the room's roster).
	Names map[PlayerID]string
}

// Name returns p's display name, or "#p" when the roster has none.
func (s *Scene) Name(p PlayerID) string {
	if n, ok := s.Names[p]; ok {
		return n
	}
	return fmt.Sprintf("#%d", p)
}

// Brain plays for a bot.
type Brain interface {
	// Act decides this tick's move from what the bot sees (s.Ready is
	// false, with nil tables, until a snapshot arrived, and always for a
	// cheap load-generating bot that decodes no state).
	Act(s *Scene, m *Move)
}

// Move is what a player does in one tick: its input (empty: none) and
// events to emit. A renderer reading the keyboard produces one too.
type Move struct {
	Input  []byte
	Events []Emit
}

// Emit is one event a player sends.
type Emit struct {
	Name    string
	Payload []byte
}

// Reset empties m for the next tick, keeping its memory.
func (m *Move) Reset() {
	m.Input = m.Input[:0]
	m.Events = m.Events[:0]
}

// Emit queues an event.
func (m *Move) Emit(name string, payload []byte) {
	m.Events = append(m.Events, Emit{Name: name, Payload: payload})
}

// ErrDef is wrapped by Validate's errors.
var ErrDef = errors.New("game: invalid definition")

// Validate reports whether d is complete and well formed.
func (d *Def) Validate() error {
	if !validGameName(d.Name) {
		return fmt.Errorf("%w: name %q must be 1..32 of a-z, 0-9 and '-'", ErrDef, d.Name)
	}
	if d.New == nil || d.Restore == nil {
		return fmt.Errorf("%w: %s has no New or Restore", ErrDef, d.Name)
	}
	if d.Seats < 0 || d.Seats > 256 {
		return fmt.Errorf("%w: %s: Seats %d outside 0..256", ErrDef, d.Name, d.Seats)
	}
	if d.MaxInput < 0 || d.MaxInput > MaxInputSize {
		return fmt.Errorf("%w: %s: MaxInput %d outside 0..%d", ErrDef, d.Name, d.MaxInput, MaxInputSize)
	}
	for _, e := range d.Events {
		if e == "" || len(e) > 64 {
			return fmt.Errorf("%w: %s: event name %q", ErrDef, d.Name, e)
		}
	}
	if err := d.Schema.Validate(); err != nil {
		return fmt.Errorf("%s: %w", d.Name, err)
	}
	return nil
}

// InputLimit is the largest input of d in bytes.
func (d *Def) InputLimit() int {
	if d.MaxInput == 0 {
		return MaxInputSize
	}
	return d.MaxInput
}

// Handles reports whether the match handles member events named name.
func (d *Def) Handles(name string) bool { return slices.Contains(d.Events, name) }

// CheckParams refuses parameter names d does not declare.
func (d *Def) CheckParams(params map[string]string) error {
	for name := range params {
		if !slices.ContainsFunc(d.Params, func(p Param) bool { return p.Name == name }) {
			known := make([]string, len(d.Params))
			for i, p := range d.Params {
				known[i] = p.Name
			}
			return fmt.Errorf("game %s has no parameter %q (known: %s)", d.Name, name, strings.Join(known, ", "))
		}
	}
	return nil
}

func validGameName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Registry is the set of games a program offers. Register games before use;
// then it is read-only and safe for concurrent use.
type Registry struct {
	defs []*Def
}

// NewRegistry registers defs, in order (the first is the default).
func NewRegistry(defs ...*Def) (*Registry, error) {
	r := &Registry{}
	for _, d := range defs {
		if err := r.Register(d); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds d after validating it.
func (r *Registry) Register(d *Def) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if r.Lookup(d.Name) != nil {
		return fmt.Errorf("%w: %s registered twice", ErrDef, d.Name)
	}
	r.defs = append(r.defs, d)
	return nil
}

// Lookup returns the game named name, or nil.
func (r *Registry) Lookup(name string) *Def {
	for _, d := range r.defs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Defs returns the registered games in registration order.
func (r *Registry) Defs() []*Def { return r.defs }

// Names returns the registered games' names in registration order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.defs))
	for i, d := range r.defs {
		out[i] = d.Name
	}
	return out
}

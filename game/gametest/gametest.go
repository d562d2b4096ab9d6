// Package gametest drives a game's Match the way a room does, without a
// server or a network, so a game's rules can be tested as plain Go: seat
// players, feed inputs and events, step, read the replicated Table, save
// and restore, and check determinism.
//
//	h, _ := gametest.New(mygame.Def, game.Config{TickRate: 60, Capacity: 4, Seed: 1})
//	h.Join(1, "ann")
//	h.Input(1, mygame.Encode(...))
//	h.Step()
//	t := h.State()
//
// gametest imports only the game API.
package gametest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/arenaserver/arena/game"
)

// Emitted is one event the match sent through its Context.
type Emitted struct {
	To      game.PlayerID // 0 for a broadcast
	Except  game.PlayerID // a broadcast's excepted player
	Name    string
	Payload []byte
}

// Harness is one match and its engine stand-in. Not safe for concurrent
// use.
type Harness struct {
	Def   *game.Def
	Cfg   game.Config
	Match game.Match
	Ctx   *game.Context
	// Emitted collects every event the match emitted, in order.
	Emitted []Emitted

	names map[game.PlayerID]string
	seq   map[game.PlayerID]uint32
	table *game.Table
}

// New starts a match of def.
func New(def *game.Def, cfg game.Config) (*Harness, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	h := &Harness{Def: def, Cfg: cfg, names: map[game.PlayerID]string{}, seq: map[game.PlayerID]uint32{}}
	h.Ctx = game.NewContext(h, cfg.Seed)
	m, err := def.New(cfg)
	if err != nil {
		return nil, err
	}
	h.Match = m
	return h, nil
}

// Emit records an event to one player (game.Host).
func (h *Harness) Emit(p game.PlayerID, name string, payload []byte) {
	h.Emitted = append(h.Emitted, Emitted{To: p, Name: name, Payload: append([]byte(nil), payload...)})
}

// Broadcast records an event to everyone but except (game.Host).
func (h *Harness) Broadcast(name string, payload []byte, except game.PlayerID) {
	h.Emitted = append(h.Emitted, Emitted{Except: except, Name: name, Payload: append([]byte(nil), payload...)})
}

// Name is p's name (game.Host).
func (h *Harness) Name(p game.PlayerID) string { return h.names[p] }

// Join seats player p.
func (h *Harness) Join(p game.PlayerID, name string) error {
	if err := h.Match.Join(h.Ctx, p, name); err != nil {
		return err
	}
	h.names[p] = name
	return nil
}

// Leave frees p's seat.
func (h *Harness) Leave(p game.PlayerID) {
	h.Match.Leave(h.Ctx, p)
	delete(h.names, p)
}

// ErrInput means the game's CheckInput refused an input.
var ErrInput = errors.New("gametest: input refused by CheckInput")

// Input applies one input of p for the coming Step, numbered after p's
// previous one, after checking it as the server's edge does.
func (h *Harness) Input(p game.PlayerID, data []byte) error {
	return h.InputView(p, data, 0)
}

// InputView is Input with a view tick (lag compensation).
func (h *Harness) InputView(p game.PlayerID, data []byte, viewTick uint32) error {
	if len(data) > h.Def.InputLimit() || (h.Def.CheckInput != nil && h.Def.CheckInput(data) != nil) {
		return ErrInput
	}
	h.seq[p]++
	h.Match.Input(h.Ctx, p, game.Input{Data: data, Seq: h.seq[p], ViewTick: viewTick})
	return nil
}

// ErrEnded is what Event returns once the match has ended, as a room
// refuses events then.
var ErrEnded = errors.New("gametest: the match has ended")

// Event hands the match an event from p, as a room does.
func (h *Harness) Event(p game.PlayerID, name string, payload []byte) ([]byte, error) {
	if _, ended := h.Ctx.Ended(); ended {
		return nil, ErrEnded
	}
	if !h.Def.Handles(name) {
		return nil, game.ErrUnknownEvent
	}
	return h.Match.Event(h.Ctx, p, name, payload)
}

// Step advances the match one tick and reports whether it ended.
func (h *Harness) Step() (game.Result, bool) {
	h.Ctx.Advance()
	h.Match.Step(h.Ctx)
	return h.Ctx.Ended()
}

// State is the match's replicated state now (valid until the next call).
func (h *Harness) State() *game.Table {
	if h.table == nil {
		h.table = game.NewTable(h.Def.Schema)
	}
	h.table.Reset(nil)
	h.table.Tick = h.Ctx.Tick()
	h.Match.Replicate(h.table)
	if !h.table.Sorted() {
		panic("gametest: Replicate wrote entities out of id order")
	}
	return h.table
}

// Save serializes the match and the context (tick, random source).
func (h *Harness) Save() []byte {
	c, err := h.Ctx.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	out := binary.AppendUvarint(nil, uint64(len(c)))
	out = append(out, c...)
	return h.Match.Save(out)
}

// Restore continues a match Save wrote, under the same def and config.
// Names of seated players are not part of a save; pass them again.
func Restore(def *game.Def, cfg game.Config, saved []byte, names map[game.PlayerID]string) (*Harness, error) {
	n, k := binary.Uvarint(saved)
	if k <= 0 || uint64(len(saved)-k) < n {
		return nil, errors.New("gametest: malformed save")
	}
	h := &Harness{Def: def, Cfg: cfg, names: map[game.PlayerID]string{}, seq: map[game.PlayerID]uint32{}}
	for p, name := range names {
		h.names[p] = name
	}
	ctx, err := game.RestoreContext(h, saved[k:k+int(n)])
	if err != nil {
		return nil, err
	}
	h.Ctx = ctx
	m, err := def.Restore(cfg, saved[k+int(n):])
	if err != nil {
		return nil, err
	}
	h.Match = m
	return h, nil
}

// Hash is a hash of the match's whole state (what Save writes).
func (h *Harness) Hash() uint64 {
	f := fnv.New64a()
	_, _ = f.Write(h.Save())
	return f.Sum64()
}

// Script is what happens at one tick of a determinism check: each player's
// input bytes (nil: none), and events.
type Script func(tick uint32, h *Harness)

// CheckDeterminism plays ticks ticks of a script twice from fresh matches
// and once through a save and restore at tick saveAt, and returns an error
// at the first tick whose state hashes differ. newScript returns a fresh
// script for each play (a script with a random source must start it anew).
func CheckDeterminism(def *game.Def, cfg game.Config, players int, ticks, saveAt uint32, newScript func() Script) error {
	play := func(restoreAt uint32) ([]uint64, error) {
		script := newScript()
		h, err := New(def, cfg)
		if err != nil {
			return nil, err
		}
		names := map[game.PlayerID]string{}
		for p := game.PlayerID(1); p <= game.PlayerID(players); p++ {
			names[p] = fmt.Sprintf("p%d", p)
			if err := h.Join(p, names[p]); err != nil {
				return nil, err
			}
		}
		var hashes []uint64
		for tick := uint32(1); tick <= ticks; tick++ {
			if tick == restoreAt {
				seq := h.seq
				if h, err = Restore(def, cfg, h.Save(), names); err != nil {
					return nil, err
				}
				h.seq = seq
			}
			script(tick, h)
			h.Step()
			hashes = append(hashes, h.Hash())
		}
		return hashes, nil
	}
	a, err := play(0)
	if err != nil {
		return err
	}
	for _, at := range []uint32{0, saveAt} {
		b, err := play(at)
		if err != nil {
			return err
		}
		for i := range a {
			if a[i] != b[i] {
				return fmt.Errorf("gametest: states differ at tick %d (restored at %d)", i+1, at)
			}
		}
	}
	return nil
}

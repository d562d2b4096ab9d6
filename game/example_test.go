package game_test

import (
	"errors"
	"fmt"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/game/gametest"
)

// Clicker is the smallest complete game: every player has a score, a
// "click" event adds one, and the first to reach ten wins. README.md,
// "Write your own game", walks through it.

// What clients see: one kind of entity, the players, with one field.
var clickerSchema = &game.Schema{Kinds: []game.Kind{
	{Name: "player", Players: true, Fields: []game.Field{{Name: "score", Max: 10}}},
}}

var Clicker = &game.Def{
	Name:    "clicker",
	Summary: "first to ten clicks wins",
	Schema:  clickerSchema,
	Events:  []string{"click"},
	New:     func(game.Config) (game.Match, error) { return &clicker{scores: map[game.PlayerID]int64{}}, nil },
	Restore: func(_ game.Config, saved []byte) (game.Match, error) {
		m := &clicker{scores: map[game.PlayerID]int64{}}
		for i := 0; i+1 < len(saved); i += 2 {
			m.scores[game.PlayerID(saved[i])] = int64(saved[i+1])
		}
		return m, nil
	},
}

// clicker is one match; the room's goroutine owns it.
type clicker struct {
	scores map[game.PlayerID]int64
}

func (m *clicker) Join(_ *game.Context, p game.PlayerID, _ string) error {
	if p > 255 {
		return errors.New("this example saves ids in a byte")
	}
	m.scores[p] = 0
	return nil
}

func (m *clicker) Leave(_ *game.Context, p game.PlayerID)         { delete(m.scores, p) }
func (m *clicker) Input(*game.Context, game.PlayerID, game.Input) {} // no inputs: events only
func (m *clicker) Step(*game.Context)                             {}
func (m *clicker) Describe() []byte                               { return nil }

func (m *clicker) Event(c *game.Context, p game.PlayerID, name string, _ []byte) ([]byte, error) {
	m.scores[p]++
	if m.scores[p] == 10 {
		c.End(game.Result{Summary: c.Name(p) + " wins", Standings: []game.Standing{{Player: p, Name: c.Name(p), Score: 10}}})
	}
	return []byte{byte(m.scores[p])}, nil
}

// Replicate writes the players in id order (never in map order: the
// replicated state must be the same on every run).
func (m *clicker) Replicate(t *game.Table) {
	for p := game.PlayerID(1); p <= 255; p++ {
		if s, ok := m.scores[p]; ok {
			t.Add(0, uint32(p))[0] = s
		}
	}
}

func (m *clicker) Save(dst []byte) []byte {
	for p := game.PlayerID(1); p <= 255; p++ {
		if s, ok := m.scores[p]; ok {
			dst = append(dst, byte(p), byte(s))
		}
	}
	return dst
}

func Example() {
	h, _ := gametest.New(Clicker, game.Config{TickRate: 60, Capacity: 2, Seed: 1})
	_ = h.Join(1, "ann")
	_ = h.Join(2, "bob")
	for range 10 {
		_, _ = h.Event(1, "click", nil)
		_, _ = h.Event(2, "click", nil)
		if res, ended := h.Step(); ended {
			fmt.Println(res.Summary)
			break
		}
	}
	t := h.State()
	fmt.Println("players:", t.Len(0), "ann:", t.Get(0, 1)[0], "bob:", t.Get(0, 2)[0])
	// Output:
	// ann wins
	// players: 2 ann: 10 bob: 9
}

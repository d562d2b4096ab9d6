package room

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// tallyGame is a tiny game written against the API to test what the engine
// does with a game: players have a score (inputs add their byte, "vote"
// events add theirs) and a held flag; each player owns tokens that only it
// (and spectators) may see; "end" ends the match; "fail" is refused.
type tallyGame struct {
	players map[game.PlayerID]*tallyPlayer
	tokens  []tallyToken // sorted by id
	next    uint32
}

type tallyPlayer struct {
	score int64
	held  bool
}

type tallyToken struct {
	id    uint32
	owner game.PlayerID
}

var tallySchema = &game.Schema{Kinds: []game.Kind{
	{Name: "player", Players: true, Fields: []game.Field{{Name: "score"}, {Name: "held", Max: 1}}},
	{Name: "token", Immutable: true, Fields: []game.Field{{Name: "owner"}}},
}}

var tallyDef = &game.Def{
	Name: "tallyGame", Schema: tallySchema, Events: []string{"vote", "end", "fail"},
	New: func(game.Config) (game.Match, error) {
		return &tallyGame{players: map[game.PlayerID]*tallyPlayer{}}, nil
	},
	Restore: func(game.Config, []byte) (game.Match, error) { return nil, errors.New("not restorable") },
}

func (g *tallyGame) Join(_ *game.Context, p game.PlayerID, name string) error {
	if name == "nobody" {
		return errors.New("nobody may play")
	}
	g.players[p] = &tallyPlayer{}
	return nil
}

func (g *tallyGame) Leave(_ *game.Context, p game.PlayerID) { delete(g.players, p) }

func (g *tallyGame) Input(_ *game.Context, p game.PlayerID, in game.Input) {
	if pl := g.players[p]; pl != nil && len(in.Data) == 1 {
		pl.score += int64(in.Data[0])
	}
}

func (g *tallyGame) Event(c *game.Context, p game.PlayerID, name string, payload []byte) ([]byte, error) {
	switch name {
	case "vote":
		pl := g.players[p]
		for _, b := range payload {
			pl.score += int64(b)
		}
		g.next++
		g.tokens = append(g.tokens, tallyToken{id: g.next, owner: p})
		c.Broadcast("voted", []byte(c.Name(p)), p)
		return []byte(fmt.Sprint(pl.score)), nil
	case "end":
		c.End(game.Result{Summary: c.Name(p) + " ended it", Standings: []game.Standing{{Player: p, Name: c.Name(p), Score: g.players[p].score}}})
		return nil, nil
	case "fail":
		return nil, errors.New("no such luck")
	}
	return nil, game.ErrUnknownEvent
}

func (g *tallyGame) Step(*game.Context) {}

func (g *tallyGame) Replicate(t *game.Table) {
	for p := game.PlayerID(1); p < 64; p++ {
		if pl := g.players[p]; pl != nil {
			row := t.Add(0, uint32(p))
			row[0] = pl.score
			if pl.held {
				row[1] = 1
			}
		}
	}
	for _, tk := range g.tokens {
		t.Add(1, tk.id)[0] = int64(tk.owner)
	}
}

func (g *tallyGame) Describe() []byte       { return []byte("tallyGame") }
func (g *tallyGame) Save(dst []byte) []byte { return dst }

func (g *tallyGame) Hold(_ *game.Context, p game.PlayerID)   { g.players[p].held = true }
func (g *tallyGame) Return(_ *game.Context, p game.PlayerID) { g.players[p].held = false }

// Visible: players see every player and their own tokens; spectators see
// everything.
func (g *tallyGame) Visible(t *game.Table, viewer game.PlayerID, v *game.Visibility) {
	v.ShowAll(0, t.Len(0))
	for i := range t.Len(1) {
		if viewer == 0 || game.PlayerID(t.Row(1, i)[0]) == viewer {
			v.Show(1, i)
		}
	}
}

func newTallyReceiver(t *testing.T) *receiver {
	rc := newReceiver(t)
	rc.schema = tallySchema
	return rc
}

func tallyRoom(t *testing.T) *Room {
	r, err := New("t1", quietConfig(Config{Game: tallyDef}), nil)
	require.NoError(t, err)
	return r
}

func TestEventsReachTheMatchAndAreAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		defer r.Close(nil)
		a, b, w := newTallyReceiver(t), newTallyReceiver(t), newTallyReceiver(t)
		ma, _ := join(t, r, a, false), join(t, r, b, false)
		mw := join(t, r, w, true)
		require.True(t, r.Handles("vote") && r.Handles(ChatEvent) && !r.Handles("other"))
		require.NoError(t, ma.Event("vote", []byte{3, 4}, 11))
		require.NoError(t, ma.Event("fail", nil, 12))
		require.NoError(t, ma.Event("nope", nil, 13))
		require.NoError(t, mw.Event("vote", []byte{1}, 14))
		require.NoError(t, ma.Event(ChatEvent, []byte("hi all"), 15))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		a.drain()
		b.drain()
		w.drain()
		byRID := map[uint32]*sessionpb.ServerMessage{}
		for _, m := range a.others {
			byRID[m.GetRequestId()] = m
		}
		assert.Equal(t, "7", string(byRID[11].GetEventAck().GetPayload()), "the reply of the match")
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, byRID[12].GetError().GetCode())
		assert.Contains(t, byRID[12].GetError().GetMessage(), "no such luck")
		assert.False(t, byRID[12].GetError().GetFatal())
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, byRID[13].GetError().GetCode())
		var line sessionpb.ChatLine
		require.NoError(t, proto.Unmarshal(byRID[15].GetEventAck().GetPayload(), &line))
		assert.Equal(t, "hi all", line.GetText())

		var spectatorRefused bool
		for _, m := range w.others {
			if m.GetRequestId() == 14 {
				spectatorRefused = m.GetError().GetCode() == sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED
			}
		}
		assert.True(t, spectatorRefused, "spectators do not act in the match")
		// The others heard the match's broadcast and the chat; not the sender.
		names := func(rc *receiver) []string {
			var out []string
			for _, m := range rc.others {
				if e := m.GetEvent(); e != nil {
					out = append(out, e.GetName())
				}
			}
			return out
		}
		assert.Equal(t, []string{"voted", "chat"}, names(b))
		assert.Equal(t, []string{"voted", "chat"}, names(w))
		assert.Empty(t, names(a))
		// The vote changed the replicated state.
		st := b.states[b.latest]
		assert.Equal(t, int64(7), st.Get(0, uint32(ma.PlayerID()))[0])
	})
}

func TestGameRefusesASeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		defer r.Close(nil)
		_, err := r.Join(context.Background(), JoinRequest{Name: "nobody", Out: newReceiver(t).out})
		assert.ErrorIs(t, err, ErrRefused)
		assert.Contains(t, err.Error(), "nobody may play")
		assert.Zero(t, r.Info().Players)
	})
}

func TestHeldPlayersAreToldToTheGame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		defer r.Close(nil)
		a := newTallyReceiver(t)
		m := join(t, r, a, false)
		held := func() int64 {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			a.drain()
			return a.states[a.latest].Get(0, uint32(m.PlayerID()))[1]
		}
		assert.Zero(t, held())
		m.SetHeld(true)
		assert.Equal(t, int64(1), held())
		m.SetHeld(false)
		assert.Zero(t, held())
	})
}

// TestVisibilityFiltersAndSharesEncodings: each player sees only its own
// tokens; players who see alike share an encoding, and a spectator sees all.
func TestVisibilityFiltersAndSharesEncodings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		defer r.Close(nil)
		rcs := []*receiver{newTallyReceiver(t), newTallyReceiver(t), newTallyReceiver(t), newTallyReceiver(t)}
		ms := []*Member{join(t, r, rcs[0], false), join(t, r, rcs[1], false), join(t, r, rcs[2], true), join(t, r, rcs[3], true)}
		require.NoError(t, ms[0].Event("vote", nil, 0))
		require.NoError(t, ms[0].Event("vote", nil, 0))
		require.NoError(t, ms[1].Event("vote", nil, 0))
		for range 10 {
			time.Sleep(time.Second / 30)
			synctest.Wait()
			for i, rc := range rcs {
				rc.drain()
				ms[i].Ack(rc.latest)
			}
		}
		count := func(rc *receiver) int { return rc.states[rc.latest].Len(1) }
		assert.Equal(t, 2, count(rcs[0]), "player 1 sees its two tokens")
		assert.Equal(t, 1, count(rcs[1]), "player 2 sees its one")
		assert.Equal(t, 3, count(rcs[2]), "the spectator sees all")
		before := r.Info().Encodes
		time.Sleep(time.Second / 30)
		synctest.Wait()
		assert.Equal(t, 3, count(rcs[3]))
		assert.Equal(t, before+3, r.Info().Encodes, "four members, three views: three encodings")
	})
}

func TestMatchEndReachesMembersAndLobby(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		a, b := newTallyReceiver(t), newTallyReceiver(t)
		ma := join(t, r, a, false)
		join(t, r, b, false)
		require.NoError(t, ma.Event("end", nil, 5))
		require.NoError(t, ma.Event("vote", []byte{1}, 6))
		<-r.Done()
		b.drain()
		a.drain()
		var late *sessionpb.Error
		for _, m := range a.others {
			if m.GetRequestId() == 6 {
				late = m.GetError()
			}
		}
		require.NotNil(t, late, "an event after the end in the same tick is refused")
		assert.Contains(t, late.GetMessage(), "the match has ended")
		var ended *sessionpb.MatchEnded
		var closed *sessionpb.Error
		for _, m := range b.others {
			if e := m.GetMatchEnded(); e != nil {
				ended = e
			}
			if e := m.GetError(); e != nil {
				closed = e
			}
		}
		require.NotNil(t, ended)
		assert.Equal(t, "p ended it", ended.GetSummary())
		require.Len(t, ended.GetStandings(), 1)
		require.NotNil(t, closed, "then the room closes")
		assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED, closed.GetCode())
		require.NotNil(t, r.Result())
		assert.Equal(t, "p ended it", r.Result().Summary)
	})
}

// directWrites records what a link's direct path writes, one entry per
// write; it stands for a WebSocket whose socket always takes everything.
type directWrites struct {
	mu     sync.Mutex
	writes [][]*sessionpb.ServerMessage
}

func (d *directWrites) write(frames [][]byte) bool {
	w := make([]*sessionpb.ServerMessage, len(frames))
	for i, f := range frames {
		w[i] = &sessionpb.ServerMessage{}
		if proto.Unmarshal(f, w[i]) != nil {
			return false
		}
	}
	d.mu.Lock()
	d.writes = append(d.writes, w)
	d.mu.Unlock()
	return true
}

// TestEventsRideWithTheSnapshot: reliable frames a writer has not taken
// yet go out with the member's next snapshot, in one direct write (here no
// writer runs at all: everything goes through the direct path).
func TestEventsRideWithTheSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := tallyRoom(t)
		defer r.Close(nil)
		a := newTallyReceiver(t)
		ma := join(t, r, a, false)
		var d directWrites
		out, link := outbox.New(0), outbox.NewLink()
		link.SetDirect(d.write)
		out.Attach(link, 0)
		var batch outbox.Batch
		link.Take(&batch) // the writer's first take, after the attach
		_, err := r.Join(context.Background(), JoinRequest{Name: "b", Out: out})
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		start := r.Info().Tick
		d.mu.Lock()
		before := len(d.writes)
		d.mu.Unlock()
		for i := range 6 {
			require.NoError(t, ma.Event("vote", []byte{1}, uint32(20+i)))
			time.Sleep(time.Second / 60)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		ticks := int(r.Info().Tick - start)

		link.Take(&batch)
		assert.Empty(t, batch.Frames, "everything went out through the direct path")
		d.mu.Lock()
		defer d.mu.Unlock()
		events, withSnapshot := 0, 0
		for _, w := range d.writes {
			snaps := 0
			for _, m := range w {
				if m.GetSnapshot() != nil {
					snaps++
				}
			}
			assert.LessOrEqual(t, snaps, 1, "one snapshot per write")
			for i, m := range w {
				if m.GetEvent().GetName() != "voted" {
					continue
				}
				events++
				if snaps == 1 {
					withSnapshot++
					assert.NotNil(t, w[len(w)-1].GetSnapshot(), "the tick's events go before its snapshot")
					assert.Less(t, i, len(w)-1)
				}
			}
		}
		assert.Equal(t, 6, events, "every vote was heard")
		assert.Positive(t, withSnapshot, "an event of a snapshot tick rides with the snapshot")
		assert.LessOrEqual(t, len(d.writes)-before, ticks, "at most one write per tick")
	})
}

package core

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// otherArena is the arena with one field more: what a client of another
// version of the game would have.
func otherArena() *game.Def {
	d := *arena.Def
	s := &game.Schema{Kinds: append([]game.Kind(nil), arena.Schema.Kinds...)}
	s.Kinds[0].Fields = append(append([]game.Field(nil), s.Kinds[0].Fields...), game.Field{Name: "armor", Max: 100})
	d.Schema = s
	return &d
}

func registry(t *testing.T, defs ...*game.Def) *game.Registry {
	t.Helper()
	r, err := game.NewRegistry(defs...)
	require.NoError(t, err)
	return r
}

// TestGameOfTheRoom: a room's game is looked up by name in the registry,
// its schema must be the one the client was built with, and its
// description must parse; otherwise the room is refused with a message
// that says why.
func TestGameOfTheRoom(t *testing.T) {
	cfg := sim.Config{Rules: sim.NewRules(60), Arena: sim.DefaultArena()}
	describe, err := proto.Marshal(arena.ConfigProto(&cfg))
	require.NoError(t, err)
	joined := func(name string, schema *game.Schema, describe []byte) *sessionpb.Joined {
		return &sessionpb.Joined{Game: name, Schema: netcode.SchemaProto(schema), Describe: describe,
			Room: &sessionpb.RoomInfo{Id: "r1"}, PlayerId: 3}
	}
	tests := []struct {
		name    string
		games   *game.Registry
		joined  *sessionpb.Joined
		wantErr string
	}{
		{"the arena", registry(t, arena.Def), joined("arena", arena.Schema, describe), ""},
		{"no registry", nil, joined("arena", arena.Schema, describe), `plays "arena", which this client cannot play (it knows: none)`},
		{"a game the client does not know", registry(t, arena.Def), joined("chess", arena.Schema, describe),
			`plays "chess", which this client cannot play (it knows: arena)`},
		{"another version of the schema", registry(t, otherArena()), joined("arena", arena.Schema, describe),
			"replicates another schema than this client's"},
		{"a description that does not parse", registry(t, arena.Def), joined("arena", arena.Schema, []byte{0xff}),
			"description of its arena match does not parse"},
	}
	for _, tc := range tests {
		s := New(Config{Games: tc.games, Logger: quiet()})
		def, cl, err := s.gameOf(tc.joined)
		if tc.wantErr != "" {
			require.Error(t, err, tc.name)
			assert.Contains(t, err.Error(), tc.wantErr, tc.name)
			s.startMembership(tc.joined, false)
			assert.Equal(t, PhaseLobby, s.phase, tc.name)
			assert.True(t, strings.HasPrefix(s.status, "left room r1: "), "%s: status %q", tc.name, s.status)
			assert.Nil(t, s.joined, tc.name)
		} else {
			require.NoError(t, err, tc.name)
			assert.Same(t, arena.Def, def, tc.name)
			require.IsType(t, &arena.Client{}, cl, tc.name)
			assert.Equal(t, cfg.Arena.Width, cl.(*arena.Client).Config.Arena.Width, tc.name)
			s.startMembership(tc.joined, false)
			assert.Equal(t, PhasePlaying, s.phase, tc.name)
			require.NotNil(t, s.pred, "%s: a player predicts", tc.name)
			s.buildView()
			v := s.View()
			assert.Equal(t, "arena", v.Game)
			require.NotNil(t, v.Scene)
			assert.Equal(t, game.PlayerID(3), v.Scene.Self)
			assert.False(t, v.Scene.Ready, "no snapshot yet")
			assert.Equal(t, uint64(1), v.Membership)
		}
		s.Close()
	}
}

// TestRefusedRoomIsLeft: a client built with another version of the arena
// joins a real server's arena room, refuses it with a clear status, and
// gives its seat back.
func TestRefusedRoomIsLeft(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "old", Logger: quiet(), Games: registry(t, otherArena())})
	defer s.Close()
	require.True(t, s.CreateAndJoin(2))
	until(t, s, "the refusal", func(v *View) bool { return strings.Contains(v.Status, "another schema") })
	assert.Equal(t, PhaseLobby, s.View().Phase)
	assert.Nil(t, s.View().Scene)
	until(t, s, "the lobby action done", func(v *View) bool { return !v.Busy })
	// The seat is given back: the room the refused client created empties.
	until(t, s, "an empty room", func(v *View) bool {
		if len(v.Rooms) == 1 && v.Rooms[0].Players == 0 && v.Rooms[0].Game == "arena" {
			return true
		}
		s.ListRooms() // again, once the last list is in
		return false
	})
}

// TestSparseInputsAndEvents: for a game without TickInputs the client sends
// an input only when the move has one, once, and acknowledges snapshots in
// between; the move's events are emitted at once. It plays the real
// server's arena with a client-side Def that says the arena's inputs are
// sparse: one input of "right" moves the player by exactly one step, the
// prediction agrees, and the server answers the unknown event.
func TestSparseInputsAndEvents(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	sparse := *arena.Def
	sparse.TickInputs = false
	s := New(Config{URL: url, Name: "sparse", Logger: quiet(), Games: registry(t, &sparse)})
	defer s.Close()
	require.True(t, s.CreateAndJoin(1))
	until(t, s, "a first snapshot", func(v *View) bool { return v.Ready })
	sc := s.View().Scene
	self := uint32(sc.Self)
	x0 := sc.Newest.Get(arena.KindPlayer, self)[arena.PX]
	y0 := sc.Newest.Get(arena.KindPlayer, self)[arena.PY]
	step := int64(sc.Client.(*arena.Client).Config.Rules.PlayerSpeed)
	right := sim.ButtonRight
	if x0+2*step > int64(sc.Client.(*arena.Client).Config.Arena.Width) {
		right, step = sim.ButtonLeft, -step
	}

	var m game.Move
	m.Input = arena.AppendInput(m.Input, right, 0)
	m.Emit("no-such-event", []byte("hi"))
	s.Update(time.Now(), &m)
	assert.Equal(t, uint32(1), s.pred.lastSeq, "one input sent")
	predicted := s.pred.pred.Get(arena.KindPlayer, self)[arena.PX]
	until(t, s, "the input applied", func(v *View) bool {
		return v.Net.PendingInputs == 0 && v.Scene.Newest.Get(arena.KindPlayer, self)[arena.PX] != x0
	})
	until(t, s, "the server's answer to the event", func(v *View) bool { return strings.Contains(v.Status, `unknown event "no-such-event"`) })
	for range 30 { // frames without an input send nothing
		s.Update(time.Now(), &game.Move{})
	}
	v := s.View()
	row := v.Scene.Newest.Get(arena.KindPlayer, self)
	assert.Equal(t, x0+step, row[arena.PX], "one step, once")
	assert.Equal(t, y0, row[arena.PY])
	assert.Equal(t, x0+step, predicted, "as predicted")
	assert.Equal(t, uint32(1), s.pred.lastSeq, "no other input sent")
	assert.Equal(t, uint64(1), v.Net.PredictionChecks)
	assert.Zero(t, v.Net.Corrections)
}

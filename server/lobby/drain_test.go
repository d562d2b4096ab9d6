package lobby

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/server/room"
)

func TestStopAcceptingKeepsRoomsRunning(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := New(Config{Games: []*game.Def{arena.Def}, Logger: log, Room: room.Config{Logger: log}})
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, l.Close(ctx, nil))
	}()
	ctx := context.Background()
	m, err := l.QuickJoin(ctx, "", room.JoinRequest{Name: "a", Out: outbox.New(0)})
	require.NoError(t, err)
	id := m.Room().ID()

	l.StopAccepting()
	_, err = l.Join(ctx, id, room.JoinRequest{Name: "b", Out: outbox.New(0)})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.QuickJoin(ctx, "", room.JoinRequest{Name: "c", Out: outbox.New(0)})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.Create("", 0)
	assert.ErrorIs(t, err, ErrClosed)
	require.Len(t, l.Rooms(), 1, "the running room goes on")
	tick := l.Rooms()[0].Info().Tick
	time.Sleep(100 * time.Millisecond)
	assert.Greater(t, l.Rooms()[0].Info().Tick, tick)
}

func TestRoomsTakeTheirGamesSeatsAndParamsAreCheckedAtStart(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	wide := *arena.Def
	wide.Name, wide.Seats = "wide", 40
	l, err := New(Config{Games: []*game.Def{arena.Def, &wide}, Logger: log, Room: room.Config{Logger: log}})
	require.NoError(t, err)
	a, err := l.Create("", 0)
	require.NoError(t, err)
	w, err := l.Create("wide", 0)
	require.NoError(t, err)
	assert.Equal(t, 16, a.Info().Capacity)
	assert.Equal(t, 40, w.Info().Capacity)
	_, err = l.Create("chess", 0)
	assert.ErrorIs(t, err, ErrUnknownGame)
	require.NoError(t, l.Close(context.Background(), nil))

	_, err = New(Config{Games: []*game.Def{arena.Def}, Params: map[string]map[string]string{"arena": {"score-limit": "lots"}}, Logger: log, Room: room.Config{Logger: log}})
	assert.ErrorContains(t, err, "score-limit", "a bad value fails at start, not at the first room")
}

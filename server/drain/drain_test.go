package drain

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/room"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type notifier struct {
	mu   sync.Mutex
	left []time.Duration
}

func (n *notifier) NotifyDraining(left time.Duration) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.left = append(n.left, left)
	return 1
}

func (n *notifier) calls() []time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]time.Duration(nil), n.left...)
}

func newLobby(t *testing.T) *lobby.Lobby {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := lobby.New(lobby.Config{Games: []*game.Def{arena.Def}, Logger: log, Room: room.Config{Logger: log}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Close(ctx, nil)
	})
	return l
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestDrainRunsTheGraceWhilePlayersPlay(t *testing.T) {
	l := newLobby(t)
	_, err := l.QuickJoin(context.Background(), "", room.JoinRequest{Name: "a", Out: outbox.New(0)})
	require.NoError(t, err)
	var s State
	assert.False(t, s.Draining())
	n := &notifier{}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(context.Background(), &s, l, n, Config{Grace: 700 * time.Millisecond, NotifyEvery: 300 * time.Millisecond, Poll: 20 * time.Millisecond, Logger: quiet()})
	}()
	require.Eventually(t, s.Draining, time.Second, time.Millisecond)
	assert.Greater(t, s.Left(), 300*time.Millisecond)
	_, err = l.Create("", 0)
	assert.ErrorIs(t, err, lobby.ErrClosed, "no new rooms once draining")
	<-done
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 700*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second)
	calls := n.calls()
	require.GreaterOrEqual(t, len(calls), 2, "told at once and again after NotifyEvery")
	assert.Equal(t, 700*time.Millisecond, calls[0])
	assert.Less(t, calls[1], calls[0])
	assert.Len(t, l.Rooms(), 1, "the room with a player ran to the end of the grace")
	assert.True(t, s.Draining(), "a drain does not end")
	assert.Zero(t, s.Left())
}

func TestDrainClosesEmptiedRoomsAndEndsEarly(t *testing.T) {
	l := newLobby(t)
	m, err := l.QuickJoin(context.Background(), "", room.JoinRequest{Name: "a", Out: outbox.New(0)})
	require.NoError(t, err)
	empty, err := l.Create("", 0)
	require.NoError(t, err)
	var s State
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(context.Background(), &s, l, &notifier{}, Config{Grace: time.Minute, Poll: 10 * time.Millisecond, Logger: quiet()})
	}()
	select {
	case <-empty.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("an empty room stays open during the drain")
	}
	m.Leave()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the drain waits although no room is left")
	}
	assert.Empty(t, l.Rooms())
}

func TestDrainStopsWithContext(t *testing.T) {
	l := newLobby(t)
	_, err := l.QuickJoin(context.Background(), "", room.JoinRequest{Name: "a", Out: outbox.New(0)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, &State{}, l, &notifier{}, Config{Grace: time.Minute, Logger: quiet()})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run ignores its context")
	}
}

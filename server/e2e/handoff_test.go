package e2e

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/bots/swarm"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/server/fleet/redistest"
)

// TestRollingRestartLosesNothing (issue 16): Redis and three servers, 40
// bots in 20 rooms (two seats each, placed over the fleet by quick join);
// every server is restarted in turn (SIGTERM, wait for it to exit, start
// it again). Each drain hands its rooms to the others and the bots follow:
// no match ends, no session is lost, no acknowledged input is lost or
// applied twice, every room moved at least once, and the pause a moved
// client saw stays under 250 ms at the 99th percentile.
func TestRollingRestartLosesNothing(t *testing.T) {
	rd := redistest.Start(t)
	args := append([]string{"-secret", "rolling-restart-secret-0123456789", "-room-size", "2",
		"-tick-rate", "30", "-snapshot-rate", "15", "-drain-grace", "5s"}, serverproc.LoadGenFlags...)
	nodes := startFleet(t, rd, 3, args...)
	const bots = 40

	measuring := make(chan struct{})
	type result struct {
		rep *swarm.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := swarm.Run(context.Background(), swarm.Config{
			Game: arena.Def, URL: nodes[0].ws, Bots: bots, Duration: 14 * time.Second, Seed: 16,
			Transport: "ws", ConnectRate: 100,
			OnMeasure: func(int) { close(measuring) },
		})
		done <- result{rep, err}
	}()
	select {
	case <-measuring:
	case <-time.After(30 * time.Second):
		t.Fatal("the bots did not connect")
	}
	time.Sleep(time.Second)
	for i := range nodes {
		old := nodes[i]
		require.NoError(t, old.proc.Signal(syscall.SIGTERM))
		require.NoError(t, old.proc.Wait(10*time.Second), "the drained server exits cleanly")
		assert.Contains(t, old.proc.Log(), "rooms handed to other servers")
		nodes[i] = startFleet(t, rd, 1, args...)[0]
		time.Sleep(1500 * time.Millisecond) // in the directory, and some play there
	}

	res := <-done
	require.NoError(t, res.err)
	rep := res.rep
	b, _ := json.Marshal(rep)
	t.Logf("bots' report: %s", b)
	for _, e := range rep.ErrorList {
		t.Logf("bot error: %s", e)
	}
	assert.Equal(t, bots, rep.Connected)
	assert.Zero(t, rep.MatchesEnded, "matches ended")
	assert.Zero(t, rep.SessionsLost, "sessions lost")
	assert.Zero(t, rep.AckedInputsLostOrDoubled, "acknowledged inputs lost or applied twice")
	assert.GreaterOrEqual(t, rep.Moves, uint64(bots), "every room moved at least once")
	assert.Less(t, rep.MovePauseMs.P99, 250.0, "p99 pause of a planned move")
	assert.LessOrEqual(t, rep.MoveFullSnapshots, rep.Moves/10, "moved clients resume by delta")
	assert.Less(t, rep.MoveSnapshotBytes.P50, rep.MoveFullSnapshotBytes.P50, "the first snapshot after a move is smaller than a full one")
}

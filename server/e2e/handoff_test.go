package e2e

import (
	"context"
	"encoding/json"
	"strings"
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
// client saw stays under 250 ms at the 99th percentile. Then the server
// with the most rooms is killed (SIGKILL): the others restore its rooms
// from their checkpoints (every second), its bots resume there through
// the other servers, and no session is lost; the play that went back is
// at most about one checkpoint interval.
func TestRollingRestartLosesNothing(t *testing.T) {
	rd := redistest.Start(t)
	args := append([]string{"-secret", "rolling-restart-secret-0123456789", "-room-size", "2",
		"-tick-rate", "30", "-snapshot-rate", "15", "-drain-grace", "5s", "-checkpoint", "1s"}, serverproc.LoadGenFlags...)
	nodes := startFleet(t, rd, 3, args...)
	const bots = 40

	// Phase 1: the rolling restart.
	rep := playWhile(t, nodes[0].ws, bots, 14*time.Second, func() {
		time.Sleep(time.Second)
		for i := range nodes {
			old := nodes[i]
			require.NoError(t, old.proc.Signal(syscall.SIGTERM))
			require.NoError(t, old.proc.Wait(10*time.Second), "the drained server exits cleanly")
			assert.Contains(t, old.proc.Log(), "rooms handed to other servers")
			nodes[i] = startFleet(t, rd, 1, args...)[0]
			time.Sleep(1500 * time.Millisecond) // in the directory, and some play there
		}
	})
	assert.Equal(t, bots, rep.Connected)
	assert.Zero(t, rep.MatchesEnded, "matches ended")
	assert.Zero(t, rep.SessionsLost, "sessions lost")
	assert.Zero(t, rep.AckedInputsLostOrDoubled, "acknowledged inputs lost or applied twice")
	assert.GreaterOrEqual(t, rep.Moves, uint64(bots), "every room moved at least once")
	assert.LessOrEqual(t, rep.PredictionMisses, rep.PredictionChecks/100, "no prediction correction storm")
	assert.Less(t, rep.MovePauseMs.P99, 250.0, "p99 pause of a planned move")
	assert.LessOrEqual(t, rep.MoveFullSnapshots, rep.Moves/10, "moved clients resume by delta")
	assert.Less(t, rep.MoveSnapshotBytes.P50, rep.MoveFullSnapshotBytes.P50, "the first snapshot after a move is smaller than a full one")
	assert.Zero(t, rep.Restores)

	// Phase 2: the crash. New bots fill 20 rooms, every room checkpoints,
	// and the server hosting the most rooms dies at once (SIGKILL).
	hosted := func(n *fleetNode) int {
		l := n.proc.Log()
		return strings.Count(l, "msg=\"room opened\"") - strings.Count(l, "msg=\"room closed\"")
	}
	victim := 0
	rep = playWhile(t, nodes[0].ws, bots, 12*time.Second, func() {
		time.Sleep(2 * time.Second) // every room has a checkpoint
		for i, n := range nodes {
			if hosted(n) > hosted(nodes[victim]) {
				victim = i
			}
		}
		require.NoError(t, nodes[victim].proc.Kill())
	})
	restored := 0
	for i, n := range nodes {
		if i != victim {
			restored += strings.Count(n.proc.Log(), "restored a room of a node whose heartbeat lapsed")
		}
	}
	t.Logf("crash: %d rooms restored elsewhere; %d sessions came back after %+v s, play lost %+v s, %d acknowledged inputs lost",
		restored, rep.Restores, rep.CrashPauseS, rep.CrashPlayLostS, rep.CrashInputsLost)
	require.Positive(t, restored, "the killed server's rooms are restored")
	assert.Zero(t, rep.SessionsLost, "sessions lost")
	assert.Zero(t, rep.MatchesEnded, "matches ended")
	assert.Equal(t, uint64(2*restored), rep.Restores, "each of their bots resumed there")
	assert.Equal(t, bots, rep.Transport.WS, "every bot is connected at the end")
	assert.LessOrEqual(t, rep.CrashPlayLostS.Max, 2.0, "at most about one checkpoint interval of play lost")
	assert.Zero(t, rep.AckedInputsLostOrDoubled, "nothing lost or doubled but what the crash took")
}

// playWhile runs bots against url for d once they are all connected,
// calls during meanwhile, and returns the bots' report.
func playWhile(t *testing.T, url string, bots int, d time.Duration, during func()) *swarm.Report {
	t.Helper()
	measuring := make(chan struct{})
	type result struct {
		rep *swarm.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := swarm.Run(context.Background(), swarm.Config{
			Game: arena.Def, URL: url, Bots: bots, Duration: d, Seed: 16,
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
	during()
	res := <-done
	require.NoError(t, res.err)
	b, _ := json.Marshal(res.rep)
	t.Logf("bots' report: %s", b)
	t.Logf("predictions: %d compared, %d missed, %d interactions; full snapshots in the window %d",
		res.rep.PredictionChecks, res.rep.PredictionMisses, res.rep.PredictionInteractions, res.rep.FullSnapshots)
	for _, e := range res.rep.ErrorList {
		t.Logf("bot error: %s", e)
	}
	return res.rep
}

package core

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/server/fleet/redistest"
)

// TestMoveCausesNoCorrections (issue 16): the own player walks on a
// server of a fleet of two, which is then drained (SIGTERM): the room and
// the session move to the other server while the player keeps walking.
// The prediction goes on across the move without a single correction.
func TestMoveCausesNoCorrections(t *testing.T) {
	rd := redistest.Start(t)
	args := []string{"-redis", rd.URL, "-secret", "move-test-secret-0123456789abcdef",
		"-fleet-heartbeat", "200ms", "-fleet-ttl", "1s"}
	a := serverproc.StartForTest(t, args...)
	b := serverproc.StartForTest(t, args...)
	s := New(Config{URL: "ws://" + a.Addr + "/ws", Name: "tester", Logger: quiet(), Games: games(t), Transport: "ws"})
	defer s.Close()
	require.True(t, s.CreateAndJoin(2))
	until(t, s, "a first snapshot", func(v *View) bool { return v.Ready })
	frames(s, 2*time.Second, walker)
	before := s.View().Net.PredictionChecks
	require.Positive(t, before)

	require.NoError(t, a.Signal(syscall.SIGTERM))
	frames(s, 3*time.Second, func(f int) []byte { return walker(f + 120) })
	require.NoError(t, a.Wait(10*time.Second), "the drained server exits")
	assert.Contains(t, a.Log(), "room moved")
	assert.Contains(t, b.Log(), "room adopted")
	v := s.View()
	t.Logf("checks %d (before the move %d) corrections %d", v.Net.PredictionChecks, before, v.Net.Corrections)
	assert.Greater(t, v.Net.PredictionChecks, before+60, "predictions compared after the move")
	assert.Zero(t, v.Net.Corrections, "the server disagreed with the prediction")
	assert.Equal(t, PhasePlaying, v.Phase)
}

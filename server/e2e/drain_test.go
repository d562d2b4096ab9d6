package e2e

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
)

func (p *rawPlayer) snapshots() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if m.GetSnapshot() != nil {
			n++
		}
	}
	return n
}

// TestSIGTERMDrainsThenExits: with a match running, SIGTERM stops joins at
// once, tells every client the time left, lets the match run to the end of
// the grace period, closes every connection with 1001 and exits 0.
func TestSIGTERMDrainsThenExits(t *testing.T) {
	const grace = 4 * time.Second
	srv := startServer(t, "-drain-grace", grace.String())
	addr := srv.Addr
	a, b, lobbyOnly := dialRaw(t, addr, "a"), dialRaw(t, addr, "b"), dialRaw(t, addr, "c")
	created := a.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{}}})
	id := created.GetRoomCreated().GetRoom().GetId()
	require.NotEmpty(t, id)
	require.NotNil(t, a.join(t, id).GetJoined())
	require.NotNil(t, b.join(t, id).GetJoined())
	code, _ := get(t, "http://"+addr+"/readyz")
	require.Equal(t, http.StatusOK, code)

	start := time.Now()
	require.NoError(t, srv.Signal(syscall.SIGTERM))

	// At once: every client hears how long is left; joins and new rooms
	// are refused with a clear error; the server is no longer ready but
	// still alive.
	for _, p := range []*rawPlayer{a, b, lobbyOnly} {
		require.Eventually(t, func() bool { return len(p.drainings()) > 0 }, 2*time.Second, 5*time.Millisecond, "no Draining message")
		left := p.drainings()[0]
		assert.True(t, left == 4 || left == 3, "seconds_left %d", left)
	}
	refused := lobbyOnly.join(t, id).GetError()
	refusedAfter := time.Since(start)
	require.NotNil(t, refused, "join during the drain must be refused")
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, refused.Code)
	assert.False(t, refused.Fatal)
	assert.Contains(t, refused.Message, "shutting down")
	refused = lobbyOnly.join(t, "").GetError()
	require.NotNil(t, refused, "quick join during the drain must be refused")
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, refused.Code)
	created = lobbyOnly.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{}}})
	require.NotNil(t, created.GetError(), "no new rooms during the drain")
	// At once, with room for a loaded machine: the first refusal answers
	// the first join sent after the signal.
	assert.Less(t, refusedAfter, 2*time.Second, "refusals come at once")
	code, body := get(t, "http://"+addr+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "draining")
	code, _ = get(t, "http://"+addr+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1.0, scrapeMetrics(t, addr).value(t, "arena_draining"))

	// The match goes on during the grace period.
	n := a.snapshots()
	time.Sleep(time.Second)
	assert.Greater(t, a.snapshots()-n, 10, "snapshots keep coming while draining (30 a second)")

	// Then the process exits 0, within the grace plus a margin, and not
	// before the grace (the room still had players).
	require.NoError(t, srv.Wait(grace+5*time.Second), "exit status")
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, grace-200*time.Millisecond, "matches may run the whole grace")
	t.Logf("exited %v after SIGTERM (grace %v)", elapsed.Round(time.Millisecond), grace)
	for i, p := range []*rawPlayer{a, b, lobbyOnly} {
		select {
		case <-p.conn.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("connection still open after the server exited")
		}
		var ce *wsconn.CloseError
		require.True(t, errors.As(p.conn.Err(), &ce), "closed without a close frame: %v", p.conn.Err())
		assert.Equal(t, uint16(1001), ce.Code, "going away")
		bye := p.find(func(m *sessionpb.ServerMessage) bool {
			return m.GetError().GetCode() == sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN && m.GetError().GetFatal()
		})
		assert.NotNil(t, bye, "player %d: an Error{SHUTTING_DOWN} precedes the close; last messages: %v", i, p.last(4))
	}
	assert.GreaterOrEqual(t, len(a.drainings()), 1)
	log := srv.Log()
	assert.Contains(t, log, "msg=draining")
	assert.Contains(t, log, "msg=stopped")
	assert.Equal(t, 0, strings.Count(log, "level=ERROR"), "no errors logged")
}

// TestDrainEndsEarlyWhenRoomsEmpty: when the last player leaves, its room
// closes and the server exits without waiting for the rest of the grace.
func TestDrainEndsEarlyWhenRoomsEmpty(t *testing.T) {
	srv := startServer(t, "-drain-grace", "60s")
	p := dialRaw(t, srv.Addr, "solo")
	require.NotNil(t, p.join(t, "").GetJoined())
	start := time.Now()
	require.NoError(t, srv.Signal(syscall.SIGINT))
	require.Eventually(t, func() bool { return len(p.drainings()) > 0 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, uint32(60), p.drainings()[0])
	left := p.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}})
	require.NotNil(t, left.GetLeft())
	require.NoError(t, srv.Wait(10*time.Second), "exit status")
	assert.Less(t, time.Since(start), 5*time.Second, "an emptied server need not wait for the grace")
	<-p.conn.Done()
}

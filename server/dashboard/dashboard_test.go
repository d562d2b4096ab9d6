package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/room"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "s3cret"

type fixture struct {
	lob  *lobby.Lobby
	dash *Dashboard
	srv  *httptest.Server
	c    *metrics.Counters
	http *http.Client
}

func newFixture(t *testing.T) *fixture {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lob, err := lobby.New(lobby.Config{Games: []*game.Def{arena.Def}, Logger: log, Room: room.Config{Logger: log, Totals: &room.Totals{}}})
	require.NoError(t, err)
	f := &fixture{lob: lob, c: &metrics.Counters{}}
	f.dash = New(Config{Token: token, Rooms: lob.Rooms, Metrics: f.c, Logger: log, ListEvery: 50 * time.Millisecond,
		Draining: func() (bool, time.Duration) { return false, 0 }})
	mux := http.NewServeMux()
	mux.Handle("/dashboard", f.dash)
	mux.Handle("/dashboard/", f.dash)
	f.srv = httptest.NewServer(mux)
	f.http = &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		f.dash.Close()
		f.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = lob.Close(ctx, nil)
	})
	return f
}

func (f *fixture) get(t *testing.T, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.http.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestTokenIsRequiredEverywhere(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/api/rooms", "/dashboard/api/stream", "/dashboard/api/view/x"} {
		assert.Equal(t, http.StatusUnauthorized, f.get(t, p).StatusCode, "%s without a token", p)
		assert.Equal(t, http.StatusForbidden, f.get(t, p+"?token=wrong").StatusCode, "%s with a wrong token", p)
		assert.Equal(t, http.StatusForbidden, f.get(t, p, "Authorization", "Bearer "+token+"x").StatusCode)
		assert.Equal(t, http.StatusForbidden, f.get(t, p, "Cookie", cookieName+"=nope").StatusCode)
	}
	resp := f.get(t, "/dashboard/")
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
	assert.Equal(t, 6*4+1, int(authFailures(f.c)), "every refusal is counted")
}

func authFailures(c *metrics.Counters) float64 {
	reg := metrics.NewRegistry(metrics.Sources{Counters: c})
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "arena_auth_failures_total" {
			for _, m := range f.Metric {
				if m.Label[0].GetValue() == "admin_token" {
					return m.Counter.GetValue()
				}
			}
		}
	}
	return -1
}

func TestTokenInAddressBecomesCookie(t *testing.T) {
	f := newFixture(t)
	resp := f.get(t, "/dashboard?token="+token)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dashboard/", resp.Header.Get("Location"), "the token leaves the address")
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, cookie.SameSite)

	page := f.get(t, "/dashboard/", "Cookie", cookieName+"="+cookie.Value)
	require.Equal(t, http.StatusOK, page.StatusCode)
	body, _ := io.ReadAll(page.Body)
	assert.Contains(t, string(body), `<canvas id="match"`)
	js := f.get(t, "/dashboard/app.js", "Authorization", "Bearer "+token)
	assert.Equal(t, http.StatusOK, js.StatusCode)
	assert.Contains(t, js.Header.Get("Content-Type"), "javascript")
}

func join(t *testing.T, f *fixture, name string) *room.Member {
	m, err := f.lob.QuickJoin(context.Background(), "", room.JoinRequest{Name: name, Out: outbox.New(0)})
	require.NoError(t, err)
	return m
}

// TestRoomListAndRates runs the lobby, its room and the dashboard in a
// synctest bubble: time is the bubble's, so the rates come out exact
// however busy the machine is (the room ticks on a fake clock).
func TestRoomListAndRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		lob, err := lobby.New(lobby.Config{Games: []*game.Def{arena.Def}, Logger: log, Room: room.Config{Logger: log, Totals: &room.Totals{}}})
		require.NoError(t, err)
		c := &metrics.Counters{}
		dash := New(Config{Token: token, Rooms: lob.Rooms, Metrics: c, Logger: log,
			Draining: func() (bool, time.Duration) { return false, 0 }})
		defer func() {
			dash.Close()
			require.NoError(t, lob.Close(context.Background(), nil))
		}()
		m, err := lob.QuickJoin(context.Background(), "", room.JoinRequest{Name: "ann", Out: outbox.New(0)})
		require.NoError(t, err)
		_, err = lob.QuickJoin(context.Background(), "", room.JoinRequest{Name: "bob", Out: outbox.New(0)})
		require.NoError(t, err)
		time.Sleep(1100 * time.Millisecond) // one flush of the room's byte count
		synctest.Wait()
		rt := newRates()
		dash.overview(rt)
		time.Sleep(time.Second)
		synctest.Wait()
		o := dash.overview(rt)
		require.Len(t, o.Rooms, 1)
		r := o.Rooms[0]
		assert.Equal(t, m.Room().ID(), r.ID)
		assert.Equal(t, []string{"ann", "bob"}, r.Players)
		assert.Equal(t, 2, r.PlayerCount)
		assert.Equal(t, 2, o.Server.Players)
		assert.InDelta(t, 16.7, r.BudgetMs, 0.1)
		assert.InDelta(t, 30, r.SnapshotRate, 1, "snapshots per member per second")
		assert.Positive(t, r.BytesPerPlayer)
		// Tick work takes no time on the bubble's clock: the p99 is there,
		// and zero.
		assert.Zero(t, r.P99Ms)
	})
}

// events reads server-sent events until n of kind arrived or the stream ends.
func events(t *testing.T, body io.Reader, kind string, n int) []string {
	t.Helper()
	var got []string
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	event := ""
	for sc.Scan() && len(got) < n {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: ") && event == kind:
			got = append(got, line[len("data: "):])
		}
	}
	return got
}

func TestViewStreamDrawsTheRoom(t *testing.T) {
	f := newFixture(t)
	m := join(t, f, "ann")
	join(t, f, "bob")
	resp := f.get(t, "/dashboard/api/view/"+m.Room().ID(), "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	views := events(t, br, "view", 5)
	require.Len(t, views, 5)
	var first, last viewMsg
	require.NoError(t, json.Unmarshal([]byte(views[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(views[4]), &last))
	assert.Greater(t, last.Tick, first.Tick)
	assert.Equal(t, "arena", last.Game)
	assert.Equal(t, map[string]string{"1": "ann", "2": "bob"}, last.Names)
	require.NotNil(t, last.Sketch, "the arena's sketch of its state")
	assert.InDelta(t, 1280, last.Sketch.Width, 0.01)
	labelled := 0
	for _, sh := range last.Sketch.Shapes {
		if sh.Player != 0 {
			labelled++
		}
	}
	assert.Equal(t, 2, labelled, "a labelled shape per player")

	assert.Equal(t, http.StatusNotFound, f.get(t, "/dashboard/api/view/nope", "Authorization", "Bearer "+token).StatusCode)
}

func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t)
	resp := f.get(t, "/dashboard/api/stream", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	first := events(t, resp.Body, "rooms", 1)
	require.Len(t, first, 1)
	var o Overview
	require.NoError(t, json.Unmarshal([]byte(first[0]), &o))
	assert.Empty(t, o.Rooms)
	f.dash.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream outlives Close")
	}
}

func TestNewRefusesAnEmptyToken(t *testing.T) {
	assert.Panics(t, func() { New(Config{}) })
}

package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/linkcond"
)

// startServer runs the real server binary on a free loopback port and
// returns its WebSocket URL.
func startServer(t *testing.T) string {
	t.Helper()
	return "ws://" + serverproc.StartForTest(t).Addr + "/ws"
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// games is the registry the test sessions play from: the arena.
func games(t testing.TB) *game.Registry {
	t.Helper()
	r, err := game.NewRegistry(arena.Def)
	require.NoError(t, err)
	return r
}

// frames calls Update at 60 frames a second for d, with the input in gives
// for each frame (nil: no input).
func frames(s *Session, d time.Duration, in func(frame int) []byte) {
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	end := time.Now().Add(d)
	var m game.Move
	for frame := 0; ; frame++ {
		now := <-tk.C
		if now.After(end) {
			return
		}
		m.Reset()
		if in != nil {
			m.Input = append(m.Input, in(frame)...)
		}
		s.Update(now, &m)
	}
}

// until updates s (with no input) until cond holds or 10 s pass.
func until(t *testing.T, s *Session, what string, cond func(*View) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.Update(time.Now(), &game.Move{})
		if cond(s.View()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; status %q", what, s.View().Status)
}

// walker is a scripted player: it holds a direction for about half a
// second, then another, sweeping its aim; it never fires. It returns the
// arena's input bytes.
func walker(frame int) []byte {
	dirs := []sim.Buttons{sim.ButtonRight, sim.ButtonDown, sim.ButtonLeft | sim.ButtonUp, 0,
		sim.ButtonUp, sim.ButtonLeft, sim.ButtonDown | sim.ButtonRight, sim.ButtonLeft | sim.ButtonDown}
	return arena.AppendInput(nil, dirs[(frame/27)%len(dirs)], uint16(frame*7)%sim.AimSteps)
}

// selfAt is where the own player is drawn (the predicted table), in
// fixed-point units; ok is false when it is not drawn.
func selfAt(v *View) (x, y float64, ok bool) {
	if v.Scene == nil || v.Scene.Predicted == nil {
		return 0, 0, false
	}
	row := v.Scene.Predicted.Get(arena.KindPlayer, uint32(v.Scene.Self))
	if row == nil {
		return 0, 0, false
	}
	return float64(row[arena.PX]), float64(row[arena.PY]), true
}

// TestPredictionHasNoCorrectionsUnderLagAndJitter: alone in a room of a real
// server, over a link of 150 ms round trip with ±30 ms jitter, the own
// player walks in changing directions for eight seconds. The server must
// agree with every prediction it is compared with.
func TestPredictionHasNoCorrectionsUnderLagAndJitter(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "tester", Logger: quiet(), Games: games(t),
		Link: linkcond.Config{Latency: 150 * time.Millisecond, Jitter: 30 * time.Millisecond, Seed: 11}})
	defer s.Close()
	require.True(t, s.CreateAndJoin(2))
	until(t, s, "a first snapshot", func(v *View) bool { return v.Ready })
	require.Equal(t, PhasePlaying, s.View().Phase)

	startX, startY, ok := selfAt(s.View())
	require.True(t, ok, "the own player is drawn")
	frames(s, 8*time.Second, walker)
	v := s.View()
	t.Logf("checks %d corrections %d pending %d rtt %v", v.Net.PredictionChecks, v.Net.Corrections, v.Net.PendingInputs, v.Net.RTT)
	require.Greater(t, v.Net.PredictionChecks, uint64(150), "predictions were compared with the server")
	assert.Zero(t, v.Net.Corrections, "the server disagreed with the prediction")
	assert.Zero(t, s.pred.corrections)
	// Prediction really runs ahead: the inputs the server has not applied
	// cover at least the 150 ms round trip (9 ticks at 60 Hz).
	assert.GreaterOrEqual(t, v.Net.PendingInputs, 9)
	// 150 ms ± 30 ms each way: a ping takes 90..210 ms (loopback alone: well
	// under a millisecond).
	assert.GreaterOrEqual(t, v.Net.RTT, 90*time.Millisecond, "the link conditioner is in the path")
	x, y, ok := selfAt(v)
	require.True(t, ok)
	assert.Greater(t, math.Abs(x-startX)+math.Abs(y-startY), 100.0, "the own player moved")
}

// TestInterpolationNeverRunsDryOverAJitteryLink: a watcher behind 150 ms of
// round trip with ±30 ms jitter draws another player who walks around, end
// to end (the server binary, the link conditioner, the session, the
// timeline). What it checks holds on a busy machine too, where the render
// loop and the network goroutines may stall for a frame or ten: the
// walker is drawn on nearly every frame, moves no farther per frame than
// the time since the previous frame allows, the adaptive delay stays
// within bounds, and frames that ran dry are rare. That no frame at all
// runs dry over exactly this link is TestInterpolationNeverRunsDryUnderJitter
// (the same timeline on a fake clock, deterministic); figures on a quiet
// machine are in benchmarks/README.md.
func TestInterpolationNeverRunsDryOverAJitteryLink(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "watcher", Logger: quiet(), Games: games(t),
		Link: linkcond.Config{Latency: 150 * time.Millisecond, Jitter: 30 * time.Millisecond, Seed: 12}})
	defer s.Close()
	require.True(t, s.CreateAndJoin(4))
	until(t, s, "a first snapshot", func(v *View) bool { return v.Ready })
	roomID := s.View().RoomID

	// The walker: a bare protocol client sending one input per tick.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := client.Dial(ctx, client.Config{URL: url, Name: "walker"})
	require.NoError(t, err)
	defer w.Close()
	j, err := w.Join(ctx, roomID, false)
	require.NoError(t, err)
	walkerID := j.GetPlayerId()
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		for frame := 0; ; frame++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			if _, err := w.SendInput(walker(frame), 0); err != nil {
				return
			}
		}
	})
	defer wg.Wait()
	defer cancel()

	frames(s, 2*time.Second, nil)
	s.tl.dry, s.tl.frames = 0, 0
	var lastX, lastY float64
	var lastNow time.Time
	seen, drawn, tooFar := 0, 0, 0
	tk := time.NewTicker(time.Second / 60)
	defer tk.Stop()
	// 360 frames, counted: a busy machine takes longer, not fewer.
	for deadline := time.Now().Add(30 * time.Second); drawn < 360 && time.Now().Before(deadline); drawn++ {
		now := <-tk.C
		s.Update(now, &game.Move{})
		if sc := s.View().Scene; sc != nil && sc.Ready {
			if p := sc.Shown.Get(arena.KindPlayer, walkerID); p != nil {
				x, y := float64(p[arena.PX]), float64(p[arena.PY])
				if seen > 0 {
					// 27 units a tick; the render clock runs at most 10 %
					// fast, and a stalled loop covers the time it stalled.
					ticks := now.Sub(lastNow).Seconds() * 60
					if math.Hypot(x-lastX, y-lastY) > 27*(1.1*ticks+2) {
						tooFar++
					}
				}
				lastX, lastY, lastNow = x, y, now
				seen++
			}
		}
	}
	v := s.View()
	t.Logf("frames %d dry %d delay %v jitter %v depth %v walker drawn %d too far %d", s.tl.frames, s.tl.dry, v.Net.InterpDelay, v.Net.Jitter, v.Net.BufferDepth, seen, tooFar)
	require.Equal(t, 360, drawn, "the render loop ran")
	assert.GreaterOrEqual(t, seen, 350, "the walker was drawn on every frame (a few late at the start)")
	assert.LessOrEqual(t, float64(s.tl.dry), 0.05*float64(s.tl.frames), "frames whose render time passed the newest snapshot are rare")
	assert.Zero(t, tooFar, "the walker moves smoothly: never farther in a frame than the frame's time allows")
	assert.GreaterOrEqual(t, v.Net.InterpDelay, 66*time.Millisecond, "two snapshot intervals at least")
	assert.Less(t, v.Net.InterpDelay, time.Second, "the adaptive delay follows the measured jitter; seconds would be a bug")
}

// TestLobby: list rooms, create and join one, leave, spectate it, and see
// the name of a player from the roster.
func TestLobby(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "ann", Logger: quiet(), Games: games(t)})
	defer s.Close()
	require.True(t, s.CreateAndJoin(3))
	until(t, s, "playing", func(v *View) bool { return v.Phase == PhasePlaying && v.Ready })
	room := s.View().RoomID
	until(t, s, "own name from the roster", func(v *View) bool {
		sc := v.Scene
		return sc != nil && sc.Ready && sc.Newest.Len(arena.KindPlayer) == 1 &&
			sc.Newest.ID(arena.KindPlayer, 0) == uint32(sc.Self) && sc.Names[sc.Self] == "ann"
	})
	require.True(t, s.Leave())
	until(t, s, "back in the lobby", func(v *View) bool { return v.Phase == PhaseLobby && !v.Busy })

	other := New(Config{URL: url, Name: "bob", Logger: quiet(), Games: games(t)})
	defer other.Close()
	require.True(t, other.JoinRoom(room, false))
	until(t, other, "bob playing", func(v *View) bool { return v.Phase == PhasePlaying })

	require.True(t, s.ListRooms())
	until(t, s, "the room listed", func(v *View) bool {
		for _, r := range v.Rooms {
			if r.ID == room && r.Game == "arena" && r.Players == 1 && r.Capacity == 3 {
				return true
			}
		}
		return false
	})
	s.SetName("ann2")
	require.True(t, s.JoinRoom(room, true))
	until(t, s, "spectating bob", func(v *View) bool {
		if v.Phase != PhaseSpectating || !v.Ready || v.Scene == nil || v.Scene.Shown.Len(arena.KindPlayer) != 1 {
			return false
		}
		return v.Scene.Name(game.PlayerID(v.Scene.Shown.ID(arena.KindPlayer, 0))) == "bob"
	})
	assert.Zero(t, s.View().Scene.Self)
	assert.Nil(t, s.View().Scene.Predicted, "a spectator predicts nothing")
}

// BenchmarkCorrectionsPerMinute measures own-player prediction corrections
// per minute of play for the figures in benchmarks/README.md: one client
// alone in a room of a real server, walking in changing directions for a
// minute through the link conditioner at each setting. Run it with
//
//	go test -run XXX -bench CorrectionsPerMinute -benchtime 1x ./client/core
func BenchmarkCorrectionsPerMinute(b *testing.B) {
	for _, link := range []linkcond.Config{
		{},
		{Latency: 100 * time.Millisecond},
		{Latency: 200 * time.Millisecond},
		{Latency: 150 * time.Millisecond, Jitter: 30 * time.Millisecond},
	} {
		b.Run(fmt.Sprintf("lag=%v,jitter=%v", link.Latency, link.Jitter), func(b *testing.B) {
			for range b.N {
				url := startServerB(b)
				s := New(Config{URL: url, Name: "bench", Logger: quiet(), Games: games(b), Link: link})
				if !s.CreateAndJoin(1) {
					b.Fatal("join refused")
				}
				deadline := time.Now().Add(10 * time.Second)
				for !s.View().Ready && time.Now().Before(deadline) {
					s.Update(time.Now(), &game.Move{})
					time.Sleep(10 * time.Millisecond)
				}
				frames(s, time.Minute, walker)
				v := s.View()
				b.ReportMetric(float64(v.Net.Corrections), "corrections/min")
				b.ReportMetric(float64(v.Net.PredictionChecks)/60, "checks/s")
				b.ReportMetric(float64(v.Net.RTT)/float64(time.Millisecond), "rtt-ms")
				s.Close()
			}
		})
	}
}

// startServerB is startServer for benchmarks.
func startServerB(b *testing.B) string {
	b.Helper()
	return "ws://" + serverproc.StartForTest(b).Addr + "/ws"
}

// TestLinkConditionerOnPolling: the conditioner sits under either
// transport; on long-polling the round trip grows by the added latency too.
func TestLinkConditionerOnPolling(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "poller", Logger: quiet(), Games: games(t), Transport: "poll",
		Link: linkcond.Config{Latency: 100 * time.Millisecond}})
	defer s.Close()
	require.True(t, s.CreateAndJoin(1))
	until(t, s, "a snapshot and a ping over polling", func(v *View) bool { return v.Ready && v.Net.RTT > 0 })
	frames(s, 300*time.Millisecond, nil)
	v := s.View()
	assert.Equal(t, "poll", v.Net.Transport)
	assert.GreaterOrEqual(t, v.Net.RTT, 100*time.Millisecond)
}

// TestSlowFramesStillSendEveryTick: a game loop at 8 frames a second (a
// browser drawing in software) sends the input of every server tick, a
// few per frame; after a long stall (a background tab) one frame sends
// one input, not a burst.
func TestSlowFramesStillSendEveryTick(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	s := New(Config{URL: url, Name: "slow", Logger: quiet(), Games: games(t)})
	defer s.Close()
	require.True(t, s.CreateAndJoin(2))
	until(t, s, "a first snapshot", func(v *View) bool { return v.Ready })
	in := arena.AppendInput(nil, sim.ButtonRight, 0)
	m := game.Move{Input: in}
	start := time.Now()
	last := start
	for now := start; now.Sub(start) < 2*time.Second; now = now.Add(125 * time.Millisecond) {
		s.Update(now, &m)
		last = now
		time.Sleep(time.Until(now.Add(125 * time.Millisecond)))
	}
	want := int64(last.Sub(start).Seconds()*s.tickRate) + 1
	assert.Equal(t, want, s.inputsSent, "one input per tick at 8 frames a second")
	s.Update(time.Now().Add(5*time.Second), &m)
	assert.EqualValues(t, 1, s.inputsSent, "after a stall the input clock restarts")
}

// TestResumeSaved: a session saved by one client (a browser page before a
// reload) is resumed by a new Session: same room, same player, its inputs
// numbered on from the saved ones, so the server applies them and the
// prediction agrees.
func TestResumeSaved(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := client.Dial(ctx, client.Config{URL: url, Name: "before", Reconnect: client.Backoff{Disabled: true}})
	require.NoError(t, err)
	info, err := first.CreateRoom(ctx, 4)
	require.NoError(t, err)
	joined, err := first.Join(ctx, info.GetId(), false)
	require.NoError(t, err)
	for range 30 {
		_, err := first.SendInput(arena.AppendInput(nil, sim.ButtonDown, 0), 0)
		require.NoError(t, err)
		time.Sleep(time.Second / 60)
	}
	saved := first.Save()
	require.NotNil(t, saved.Joined)
	assert.EqualValues(t, 30, saved.InputSeq)
	first.Drop() // the page went away: no goodbye, the server holds the seat
	<-first.Done()

	s := New(Config{URL: url, Name: "after", Logger: quiet(), Games: games(t)})
	defer s.Close()
	require.True(t, s.Resume(saved))
	until(t, s, "the resumed room", func(v *View) bool { return v.Ready })
	v := s.View()
	assert.Equal(t, PhasePlaying, v.Phase)
	assert.Equal(t, info.GetId(), v.RoomID)
	assert.EqualValues(t, joined.GetPlayerId(), v.Scene.Self, "the same player")
	x0, y0, ok := selfAt(v)
	require.True(t, ok)
	frames(s, time.Second, func(int) []byte { return arena.AppendInput(nil, sim.ButtonRight, 0) })
	v = s.View()
	x1, y1, ok := selfAt(v)
	require.True(t, ok)
	assert.Greater(t, x1-x0, 50.0, "the resumed player moves right")
	assert.InDelta(t, y0, y1, 1)
	assert.Positive(t, v.Net.PredictionChecks)
	assert.Zero(t, v.Net.Corrections, "the server applied the resumed inputs as predicted")

	// A saved session is spent by its resume: a second one is refused.
	s2 := New(Config{URL: url, Name: "again", Logger: quiet(), Games: games(t)})
	defer s2.Close()
	require.True(t, s2.Resume(saved))
	until(t, s2, "a refusal", func(v *View) bool { return !v.Busy && strings.HasPrefix(v.Status, "resuming: ") })
	assert.Equal(t, PhaseLobby, s2.View().Phase)
}

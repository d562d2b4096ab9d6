package room

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// lockedBuffer is a log sink safe for the room goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPanicInOneRoomOfTwenty runs twenty rooms with members playing, and
// makes one of them panic in its tick, in rounds (a fresh victim each
// round), interleaving a slice before each panic with one after it. The
// victim closes with a reason to its members and a log line naming its id
// and tick; the nineteen others keep ticking, with a tick work p99 after
// the panics within 10% (plus a small absolute slack) of before.
func TestPanicInOneRoomOfTwenty(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rounds, slice := 4, time.Second
	var logs lockedBuffer
	var phase atomic.Int32
	var mu sync.Mutex
	times := [3][]time.Duration{}
	steady := map[string]bool{}
	cfg := Config{Game: arena.Def, TickRate: 60, SnapshotRate: 30, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		OnTick: func(id string, d time.Duration) {
			p := phase.Load()
			if p == 0 {
				return
			}
			mu.Lock()
			if steady[id] {
				times[p] = append(times[p], d)
			}
			mu.Unlock()
		}}

	type seated struct {
		r   *Room
		ms  []*Member
		out []*outbox.Outbox
	}
	open := func(id string) *seated {
		r, err := New(id, cfg, nil)
		require.NoError(t, err)
		s := &seated{r: r}
		for range 3 {
			o := outbox.New(0)
			m, err := r.Join(context.Background(), JoinRequest{Name: "p", Out: o})
			require.NoError(t, err)
			s.ms = append(s.ms, m)
			s.out = append(s.out, o)
		}
		return s
	}
	var rooms []*seated
	mu.Lock()
	for i := range 19 {
		id := fmt.Sprintf("steady%02d", i)
		steady[id] = true
		rooms = append(rooms, open(id))
	}
	mu.Unlock()
	defer func() {
		for _, s := range rooms {
			s.r.Close(nil)
			<-s.r.Done()
		}
	}()

	// Members play: one input a tick each, and their outboxes are drained
	// as a transport would.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var playMu sync.Mutex
	playing := slices.Clone(rooms)
	wg.Go(func() {
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		var b outbox.Batch
		for seq := uint32(1); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			playMu.Lock()
			for _, s := range playing {
				for i, m := range s.ms {
					m.Submit(seq, arenaInputs(sim.Input{Buttons: sim.Buttons(1 << (int(seq/30+uint32(i)) % 4)), Aim: uint16(seq)}))
					s.out[i].Take(&b)
				}
			}
			playMu.Unlock()
		}
	})
	time.Sleep(500 * time.Millisecond) // warm up

	for round := range rounds {
		victim := open(fmt.Sprintf("victim%d", round))
		playMu.Lock()
		playing = append(playing, victim)
		playMu.Unlock()
		phase.Store(1)
		time.Sleep(slice)
		playMu.Lock() // its members' frames stay in their outboxes from now on
		playing = slices.DeleteFunc(playing, func(s *seated) bool { return s == victim })
		playMu.Unlock()
		phase.Store(2)
		require.NoError(t, victim.r.post(context.Background(), func() { panic("injected fault") }))
		select {
		case <-victim.r.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("the victim room did not close")
		}
		time.Sleep(slice)
		phase.Store(0)

		// Its members were told, with a reason.
		for _, o := range victim.out {
			var b outbox.Batch
			o.Take(&b)
			told := false
			for _, f := range b.Frames {
				var m sessionpb.ServerMessage
				if proto.Unmarshal(f, &m) == nil && m.GetError().GetCode() == sessionpb.ErrorCode_ERROR_CODE_ROOM_CLOSED {
					told = true
					assert.Contains(t, m.GetError().GetMessage(), "internal error")
				}
			}
			assert.True(t, told, "a member of the panicked room gets ROOM_CLOSED")
		}
		log := logs.String()
		assert.Regexp(t, fmt.Sprintf(`msg="room tick panicked; closing the room" room=victim%d tick=\d+ panic="injected fault"`, round), log)
	}

	for _, s := range rooms {
		select {
		case <-s.r.Done():
			t.Fatalf("steady room %s closed", s.r.ID())
		default:
		}
		assert.Greater(t, s.r.Info().Tick, uint32(60*rounds), "steady room %s kept ticking", s.r.ID())
	}
	mu.Lock()
	defer mu.Unlock()
	before, after := times[1], times[2]
	require.Greater(t, len(before), 1000)
	require.Greater(t, len(after), 1000)
	slices.Sort(before)
	slices.Sort(after)
	p := func(ds []time.Duration, q float64) time.Duration { return ds[int(q*float64(len(ds)-1))] }
	t.Logf("nineteen rooms' tick work: before the panics n=%d p50=%v p99=%v; after n=%d p50=%v p99=%v",
		len(before), p(before, 0.5), p(before, 0.99), len(after), p(after, 0.5), p(after, 0.99))
	// The median, not the tail: a shared machine's context switches and
	// GC assists move a p99 by more than any margin a test can hold, while
	// a panic that left a cost behind (a spinning goroutine, a leaked
	// timer per tick) would double the typical tick.
	limit := 2*p(before, 0.5) + tickSlack
	assert.LessOrEqual(t, p(after, 0.5), limit, "tick work p50 after a panic elsewhere (limit %v)", limit)
	assert.NotContains(t, logs.String(), `closing the room" room=steady`, "no steady room panicked")
}

// tickSlack is the absolute tolerance added to the tick-time
// comparisons: tick work is tens of microseconds, where one context switch
// or GC assist on a shared 2-core machine moves a p99 by more than 10%.
const tickSlack = 50 * time.Microsecond

package gateway

// Attacks on a real gateway on loopback, beside honest players: what the
// attackers are told, and what the honest players and their rooms see.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/room"
)

// tickLog keeps every room's tick work times by phase: 0 is not kept
// (warm-up, switching), 1 and 2 are the phases compared.
type tickLog struct {
	phase atomic.Int32
	mu    sync.Mutex
	times map[string]*[3][]time.Duration
}

func (l *tickLog) on(id string, d time.Duration) {
	p := l.phase.Load()
	if p == 0 {
		return
	}
	l.mu.Lock()
	if l.times == nil {
		l.times = map[string]*[3][]time.Duration{}
	}
	ts := l.times[id]
	if ts == nil {
		ts = &[3][]time.Duration{}
		l.times[id] = ts
	}
	ts[p] = append(ts[p], d)
	l.mu.Unlock()
}

// quantile of ds (sorted in place).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// stats pools phase p's tick times of the given rooms (every room when
// none is given).
func (l *tickLog) stats(p int, rooms ...string) (n int, p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ds []time.Duration
	for id, ts := range l.times {
		if len(rooms) == 0 || slices.Contains(rooms, id) {
			ds = append(ds, ts[p]...)
		}
	}
	return len(ds), quantile(ds, 0.5), quantile(ds, 0.99)
}

// honestBot plays at 60 Hz: one input per tick, a new direction now and
// then, and counts the snapshot ticks it receives.
type honestBot struct {
	conn   *client.Conn
	roomID string
	mu     sync.Mutex
	ticks  map[uint32]bool
	errs   []*netcode.Error
}

func startHonest(t *testing.T, ctx context.Context, wg *sync.WaitGroup, ts *testServer, name, roomID string, seed uint64) *honestBot {
	t.Helper()
	b := &honestBot{ticks: map[uint32]bool{}}
	c, err := client.Dial(context.Background(), client.Config{
		URL: ts.url, Name: name,
		OnSnapshot: func(s *client.Snapshot) {
			b.mu.Lock()
			b.ticks[s.Tick] = true
			b.mu.Unlock()
		},
		OnError: func(e *netcode.Error) {
			b.mu.Lock()
			b.errs = append(b.errs, e)
			b.mu.Unlock()
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	b.conn = c
	if roomID == "" {
		created, err := c.CreateRoom(context.Background(), 0)
		require.NoError(t, err)
		roomID = created.GetId()
	}
	j, err := c.Join(context.Background(), roomID, false)
	require.NoError(t, err)
	b.roomID = j.GetRoom().GetId()
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 1))
		tk := time.NewTicker(time.Second / 60)
		defer tk.Stop()
		var in sim.Input
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			if n%30 == 0 {
				in.Buttons = sim.Buttons(rng.IntN(16)) // directions only; fire now and then
				in.Aim = uint16(rng.IntN(sim.AimSteps))
			}
			shot := in
			if n%45 == 0 {
				shot.Buttons |= sim.ButtonFire
			}
			if _, err := send(c, shot); err != nil {
				return
			}
		}
	})
	return b
}

// delivered counts the snapshots of ticks from..to the bot received, and
// how many the room sent (a snapshot every tick where floor(t·S/T) steps).
func (b *honestBot) delivered(from, to uint32, tickRate, snapRate uint32) (got, want int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for t := from; t <= to; t++ {
		if uint64(t)*uint64(snapRate)/uint64(tickRate) > uint64(t-1)*uint64(snapRate)/uint64(tickRate) {
			want++
			if b.ticks[t] {
				got++
			}
		}
	}
	return got, want
}

// attack is one kind of hostile client.
type attack struct {
	name  string
	setup int // 0: raw upgrade only; 1: Hello; 2: Hello and join the target room
	// send writes the attack's frames until stop is closed or its budget is
	// spent, and returns how many it wrote.
	send  func(c *wstest.Conn, stop <-chan struct{}) int
	want  []uint16      // acceptable close codes
	flood bool          // one connection per slice, flooding until cut
	pace  time.Duration // pause between connections (non-flood)
}

type attackResult struct {
	conns, frames, right int
	wrong                []string
}

// burst writes n copies of f (fresh masks each) as fast as the socket takes
// them, and returns how many it wrote.
func burst(c *wstest.Conn, n int, f wstest.Frame) int {
	sent := 0
	for range n {
		if c.Write(f) != nil {
			break
		}
		sent++
	}
	return sent
}

// flood writes frames from next at about perSecond until stop closes or a
// write fails.
func flood(c *wstest.Conn, stop <-chan struct{}, perSecond int, next func(i int) wstest.Frame) int {
	sent := 0
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for {
		for range perSecond / 100 {
			if c.Write(next(sent)) != nil {
				return sent
			}
			sent++
		}
		select {
		case <-stop:
			return sent
		case <-tk.C:
		}
	}
}

func binaryFrame(m *sessionpb.ClientMessage) wstest.Frame {
	return wstest.Frame{Opcode: wstest.OpBinary, Payload: netcode.Marshal(m)}
}

func inputsFrame(first uint32, buttons, aims []uint32) wstest.Frame {
	return binaryFrame(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: batch(first, buttons, aims)}})
}

const (
	closeProtocol = 1002
	closeTooBig   = 1009
)

func code(c sessionpb.ErrorCode) uint16 { return uint16(netcode.CloseCodeBase + int(c)) }

// attacks are the kinds the blast-radius test throws at the server, each
// with the close code(s) it must be answered with.
func attacks() []attack {
	huge := int64(1) << 62
	big := int64(100_000)
	malformed := code(sessionpb.ErrorCode_ERROR_CODE_MALFORMED)
	limited := code(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED)
	valid := netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Inputs{Inputs: withAck(batch(7, []uint32{1, 2, 4, 8}, []uint32{1, 2, 3, 4}), 99)}})
	garbage := make([]byte, 200)
	for i := range garbage {
		garbage[i] = byte(i*131 + 7)
	}
	garbage[0] = 0x0f // field 1 with wire type 7: never valid protobuf
	pace := 100 * time.Millisecond
	return []attack{
		{name: "bad length (2^62 declared)", setup: 1, pace: pace, want: []uint16{closeTooBig},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte{1, 2}, Length: &huge})
			}},
		{name: "reserved bits", setup: 1, pace: pace, want: []uint16{closeProtocol},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: valid, RSV: 7})
			}},
		{name: "reserved opcode", setup: 1, pace: pace, want: []uint16{closeProtocol},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: 0x3, Payload: valid})
			}},
		{name: "unmasked frame", setup: 1, pace: pace, want: []uint16{closeProtocol},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: valid, Unmasked: true})
			}},
		{name: "oversized message (5000 B)", setup: 1, pace: pace, want: []uint16{code(sessionpb.ErrorCode_ERROR_CODE_TOO_LARGE)},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 5000)})
			}},
		{name: "huge message (100 kB declared)", setup: 1, pace: pace, want: []uint16{closeTooBig},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 1000), Length: &big})
			}},
		{name: "fragment flood", setup: 1, pace: pace, want: []uint16{closeTooBig},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				// Just past the 8 KiB the transport reads: the server has
				// read everything when it closes (no reset hides its close).
				n := 0
				if c.Write(wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 100), NotFinal: true}) == nil {
					n++
				}
				return n + burst(c, 82, wstest.Frame{Opcode: wstest.OpContinuation, Payload: make([]byte, 100), NotFinal: true})
			}},
		{name: "control frame too long", setup: 1, pace: pace, want: []uint16{closeProtocol},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpPing, Payload: make([]byte, 126)})
			}},
		{name: "text frame", setup: 1, pace: pace, want: []uint16{malformed},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpText, Payload: []byte("{\"op\":\"join\"}")})
			}},
		{name: "truncated protobuf", setup: 1, pace: pace, want: []uint16{malformed},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: valid[:len(valid)-3]})
			}},
		{name: "garbage protobuf", setup: 1, pace: pace, want: []uint16{malformed},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				return burst(c, 10, wstest.Frame{Opcode: wstest.OpBinary, Payload: garbage})
			}},
		{name: "impossible input values", setup: 2, pace: pace, want: []uint16{malformed},
			send: func(c *wstest.Conn, _ <-chan struct{}) int {
				sent := 0
				for i := range 60 {
					if c.Write(inputsFrame(uint32(i+1), []uint32{0xff00}, []uint32{5000})) != nil {
						break
					}
					sent++
				}
				return sent
			}},
		{name: "no Hello (silent after upgrade)", setup: 0, pace: 50 * time.Millisecond,
			want: []uint16{code(sessionpb.ErrorCode_ERROR_CODE_TIMEOUT)},
			send: func(*wstest.Conn, <-chan struct{}) int { return 0 }},
		{name: "ping flood", setup: 1, flood: true, want: []uint16{limited},
			send: func(c *wstest.Conn, stop <-chan struct{}) int {
				return flood(c, stop, 2000, func(int) wstest.Frame { return wstest.Frame{Opcode: wstest.OpPing, Payload: []byte("p")} })
			}},
		{name: "replayed sequence numbers", setup: 2, flood: true, want: []uint16{limited},
			send: func(c *wstest.Conn, stop <-chan struct{}) int {
				f := inputsFrame(1, []uint32{8, 8, 8}, []uint32{0, 0, 0})
				return flood(c, stop, 1000, func(int) wstest.Frame { return f })
			}},
		{name: "input flood (10x tick rate)", setup: 2, flood: true, want: []uint16{limited},
			send: func(c *wstest.Conn, stop <-chan struct{}) int {
				ten := []uint32{8, 8, 8, 8, 8, 8, 8, 8, 8, 8}
				zero := make([]uint32, 10)
				return flood(c, stop, 100, func(i int) wstest.Frame { return inputsFrame(uint32(i*10+1), ten, zero) })
			}},
	}
}

// dialAttacker upgrades (and says Hello, and joins roomID) as a setup asks.
func dialAttacker(addr string, setup int, roomID string) (*wstest.Conn, error) {
	c, err := wstest.Dial(addr, "/ws")
	if err != nil {
		return nil, err
	}
	if setup >= 1 {
		if err := c.Binary(netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{
			Hello: &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: "mallory"}}})); err != nil {
			c.Close()
			return nil, err
		}
		if _, err := c.Read(5 * time.Second); err != nil { // Welcome
			c.Close()
			return nil, err
		}
	}
	if setup >= 2 {
		if err := c.Binary(netcode.Marshal(&sessionpb.ClientMessage{RequestId: 1, Body: &sessionpb.ClientMessage_JoinRoom{
			JoinRoom: &sessionpb.JoinRoom{RoomId: roomID}}})); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// runAttack opens one attacker connection, sends its frames while reading
// what comes back, and reports the close code it got (0: none in time).
func runAttack(addr, roomID string, a attack, stop <-chan struct{}) (frames int, closeCode uint16, err error) {
	c, err := dialAttacker(addr, a.setup, roomID)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	got := make(chan uint16, 1)
	go func() {
		m, err := c.ReadUntilClose(10*time.Second, nil)
		if err != nil {
			got <- 0
			return
		}
		got <- m.CloseCode()
	}()
	done := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(done) }) }
	go func() {
		select {
		case <-stop:
		case <-done:
		}
		end()
	}()
	var cc uint16
	sent := make(chan int, 1)
	go func() { sent <- a.send(c, done) }()
	select {
	case cc = <-got:
		end()
	case <-time.After(10 * time.Second):
		end()
	}
	frames = <-sent
	return frames, cc, nil
}

// TestBlastRadius plays honest bots at 60 Hz in three rooms while attacker
// connections throw malformed frames, floods and cheats of sixteen kinds at
// the same server, in attack slices interleaved with quiet ones. The server
// stays up, every attacker is closed with the right code, and the honest
// bots receive at least 99% of their snapshots, counted by the rooms'
// ticks (a busy machine slows the rooms and the bots alike). Tick work
// during and between attacks is logged, not asserted: it is a measurement
// for a quiet machine (benchmarks/README.md, "Hardening"; go run
// ./benchmarks/attack).
var procs = 2

func TestBlastRadius(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	rounds, slice := 4, 2*time.Second
	if raceEnabled {
		rounds = 3
	}
	var ticks tickLog
	ts := startServer(t, room.Config{OnTick: ticks.on}, Config{
		WS:     wsconn.ServerOptions{ReadTimeout: 3 * time.Second, PingInterval: time.Second},
		Limits: Limits{HelloTimeout: time.Second, MaxConnsPerIP: -1, ConnRatePerIP: -1}, // every attacker is on 127.0.0.1
	})
	ctx, cancel := context.WithCancel(context.Background())
	var bots sync.WaitGroup
	defer bots.Wait()
	defer cancel()
	var honest []*honestBot
	var roomIDs []string
	for r := range 3 {
		first := startHonest(t, ctx, &bots, ts, fmt.Sprintf("h%d-0", r), "", uint64(r*10))
		honest = append(honest, first)
		roomIDs = append(roomIDs, first.roomID)
		for i := 1; i < 3; i++ {
			honest = append(honest, startHonest(t, ctx, &bots, ts, fmt.Sprintf("h%d-%d", r, i), first.roomID, uint64(r*10+i)))
		}
	}
	require.Len(t, ts.lob.List(), 3, "three rooms")
	time.Sleep(time.Second) // warm up
	target := roomIDs[0]
	tickAt := func(id string) uint32 { return ts.lob.Room(id).Info().Tick }
	fromTick := map[string]uint32{}
	for _, id := range roomIDs {
		fromTick[id] = tickAt(id)
	}

	kinds := attacks()
	results := make([]attackResult, len(kinds))
	var resMu sync.Mutex
	for range rounds {
		ticks.phase.Store(1)
		time.Sleep(slice)
		ticks.phase.Store(0)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		ticks.phase.Store(2)
		for k, a := range kinds {
			wg.Go(func() {
				for first := true; ; first = false {
					select {
					case <-stop:
						return
					default:
					}
					if !first && a.flood {
						return // one flood per slice: it lasts until it is cut
					}
					frames, cc, err := runAttack(ts.addr, target, a, stop)
					resMu.Lock()
					r := &results[k]
					switch {
					case err != nil:
						r.wrong = append(r.wrong, "dial: "+err.Error())
					case slices.Contains(a.want, cc):
						r.conns++
						r.frames += frames
						r.right++
					default:
						r.conns++
						r.frames += frames
						r.wrong = append(r.wrong, fmt.Sprintf("close %d", cc))
					}
					resMu.Unlock()
					select {
					case <-stop:
						return
					case <-time.After(a.pace):
					}
				}
			})
		}
		time.Sleep(slice)
		close(stop)
		ticks.phase.Store(0)
		wg.Wait() // attackers still open finish before the next quiet slice
	}
	toTick := map[string]uint32{}
	for _, id := range roomIDs {
		toTick[id] = tickAt(id) - 10 // snapshots still in flight are not counted
	}

	// The server is up and serves a newcomer; the rooms live.
	late := dialPlayer(t, ts, "late")
	_, err := late.conn.Join(context.Background(), roomIDs[1], false)
	require.NoError(t, err, "the server still seats players")
	for _, id := range roomIDs {
		require.NotNil(t, ts.lob.Room(id), "room %s lives", id)
		before := tickAt(id)
		assert.Eventually(t, func() bool { return tickAt(id) > before+5 }, time.Second, 10*time.Millisecond, "room %s still ticks", id)
	}

	// Every attacker was closed with the right code.
	var table strings.Builder
	fmt.Fprintf(&table, "%-32s %6s %7s %s\n", "attack", "conns", "frames", "closed with")
	totalFrames := 0
	for k, a := range kinds {
		r := results[k]
		totalFrames += r.frames
		fmt.Fprintf(&table, "%-32s %6d %7d %v (right %d)\n", a.name, r.conns, r.frames, a.want, r.right)
		assert.Empty(t, r.wrong, "%s: attackers closed otherwise", a.name)
		assert.Positive(t, r.right, "%s: no attacker ran", a.name)
	}

	// Honest bots saw (almost) every snapshot, and no error.
	worst := 1.0
	for _, b := range honest {
		got, want := b.delivered(fromTick[b.roomID], toTick[b.roomID], 60, 30)
		share := float64(got) / float64(want)
		worst = min(worst, share)
		assert.GreaterOrEqual(t, share, 0.99, "bot in %s received %d of %d snapshots", b.roomID, got, want)
		b.mu.Lock()
		assert.Empty(t, b.errs, "honest bots get no error")
		b.mu.Unlock()
	}

	t.Logf("attacks (%d frames in %d slices of %v):\n%s", totalFrames, rounds, slice, table.String())
	t.Logf("honest bots: worst snapshot delivery %.4f", worst)
	// Measured, not asserted (see the doc comment).
	nq, q50, q99 := ticks.stats(1, roomIDs[1:]...)
	na, a50, a99 := ticks.stats(2, roomIDs[1:]...)
	t.Logf("tick work, rooms beside the attack: quiet n=%d p50=%v p99=%v; attack n=%d p50=%v p99=%v", nq, q50, q99, na, a50, a99)
	tq, tq50, tq99 := ticks.stats(1, target)
	ta, ta50, ta99 := ticks.stats(2, target)
	t.Logf("tick work, the attacked room: quiet n=%d p50=%v p99=%v; attack n=%d p50=%v p99=%v", tq, tq50, tq99, ta, ta50, ta99)
	info := ts.lob.Room(target).Info()
	t.Logf("attacked room: overruns %d, skipped ticks %d", info.Overruns, info.Skipped)
}

// Command attack measures what the attacks of issue 13 cost the server
// binary, and what honest people see meanwhile, on loopback:
//
//	go run ./benchmarks/attack                       # every attack, from 1 and from 16 addresses
//	go run ./benchmarks/attack -kinds rooms,sessions -addrs 16 -duration 10s
//
// For each attack and each number of attacking addresses (127.0.0.2 ...;
// every 127.x.y.z is loopback) it starts a fresh server with its default
// flags, seats three honest players in a room (from 127.0.0.1, one input a
// tick), and runs the attack for -duration while an honest newcomer, each
// from an address of its own (127.0.1.x), says Hello, creates a room, joins
// it and says goodbye every 100 ms. It reports the attackers' requests and
// how many were refused, the honest newcomers admitted, the players'
// snapshots counted against the room's ticks, the server's CPU (from
// /proc/PID/stat) and its resident memory before and at most during the
// attack. The "chat" attack also holds a victim's seat (its connection
// dropped) and reports whether it resumed into its seat afterwards.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/netcode/pollconn"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
	"github.com/arenaserver/arena/proto/sessionpb"
)

const metricsToken = "attack-bench"

var allKinds = []string{"rooms", "sessions", "churn", "lobby", "bursts", "poll", "chat", "idle", "metrics"}

func main() {
	kinds := flag.String("kinds", strings.Join(allKinds, ","), "attacks to run, comma-separated: "+strings.Join(allKinds, ", "))
	addrList := flag.String("addrs", "1,16", "numbers of attacking addresses to run each attack from")
	dur := flag.Duration("duration", 10*time.Second, "how long each attack runs")
	serverBin := flag.String("server-bin", "", "run this server binary instead of building ./server (for example one built from an older commit, to compare)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "arena-attack")
	check(err)
	defer os.RemoveAll(dir)
	bin := *serverBin
	if bin == "" {
		bin, err = serverproc.Build(ctx, dir, "")
		check(err)
	}
	var addrs []int
	for f := range strings.SplitSeq(*addrList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 200 {
			fmt.Fprintln(os.Stderr, "attack: -addrs takes numbers 1..200")
			os.Exit(2)
		}
		addrs = append(addrs, n)
	}
	row := "%-9s %5s %17s %9s %21s %18s %10s %10s %9s  %s\n"
	fmt.Printf(row, "attack", "addrs", "attacker requests", "refused", "honest joins admitted", "players' snapshots", "server CPU", "RSS before", "RSS max", "note")
	for k := range strings.SplitSeq(*kinds, ",") {
		for _, n := range addrs {
			if ctx.Err() != nil {
				return
			}
			r, err := runOne(ctx, bin, strings.TrimSpace(k), n, *dur)
			check(err)
			fmt.Printf(row, k, strconv.Itoa(n), strconv.FormatInt(r.ops, 10), strconv.FormatInt(r.refused, 10),
				fmt.Sprintf("%d/%d", r.admitted, r.attempts), fmt.Sprintf("%.2f%%", 100*r.delivery), fmt.Sprintf("%.0f%%", 100*r.cpu),
				fmt.Sprintf("%.1f MB", r.rssBefore/1e6), fmt.Sprintf("%.1f MB", r.rssMax/1e6), r.note)
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

type result struct {
	ops, refused       int64
	attempts, admitted int64
	delivery           float64 // players' snapshots per snapshot tick
	cpu                float64 // cores
	rssBefore, rssMax  float64
	note               string
}

// counters are what attackers report.
type counters struct{ ops, refused atomic.Int64 }

func runOne(ctx context.Context, bin, kind string, addrs int, dur time.Duration) (result, error) {
	srv, err := serverproc.Start(bin, "-addr", "127.0.0.1:0", "-admin-token", metricsToken)
	if err != nil {
		return result{}, err
	}
	defer srv.Kill()
	addr := srv.Addr
	h, err := startHonest(addr)
	if err != nil {
		return result{}, err
	}
	defer h.stop()
	time.Sleep(time.Second) // settle
	var victimTok []byte
	if kind == "chat" {
		victimTok, err = holdVictim(addr, h.roomID)
		if err != nil {
			return result{}, err
		}
	}
	before := sample(srv.Pid())
	rssMax := before.rss
	var c counters
	actx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	workers := 4
	if kind == "sessions" {
		workers = 16
	}
	for a := range addrs {
		ip := fmt.Sprintf("127.0.0.%d", 2+a)
		for w := range workers {
			wg.Go(func() { attack(actx, kind, ip, w, addr, h.roomID, &c) })
		}
	}
	h.begin()
	t0 := time.Now()
	tk := time.NewTicker(250 * time.Millisecond)
	for actx.Err() == nil {
		select {
		case <-tk.C:
			rssMax = max(rssMax, sample(srv.Pid()).rss)
		case <-actx.Done():
		}
	}
	tk.Stop()
	after := sample(srv.Pid())
	secs := time.Since(t0).Seconds()
	attempts, admitted, delivery := h.end()
	wg.Wait()
	r := result{ops: c.ops.Load(), refused: c.refused.Load(), attempts: attempts, admitted: admitted, delivery: delivery,
		cpu: (after.cpu - before.cpu) / secs, rssBefore: before.rss, rssMax: max(rssMax, after.rss)}
	if kind == "chat" {
		r.note = "held victim: " + resumeVictim(addr, victimTok)
	}
	return r, nil
}

type procSample struct{ cpu, rss float64 }

// sample reads a process's CPU seconds and resident bytes from /proc.
func sample(pid int) procSample {
	var out procSample
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			st, _ := strconv.ParseFloat(f[12], 64)
			out.cpu = (u + st) / 100 // USER_HZ
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
				out.rss = kb * 1024
			}
		}
	}
	return out
}

// honest is three players in a room and a newcomer every 100 ms.
type honest struct {
	addr    string
	roomID  string
	players []*client.Conn
	ticks   []map[uint32]bool
	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	counting           atomic.Bool
	attempts, admitted atomic.Int64
	fromTick           uint32
	room               *client.Conn
}

func startHonest(addr string) (*honest, error) {
	h := &honest{addr: addr}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for i := range 3 {
		h.ticks = append(h.ticks, map[uint32]bool{})
		c, err := client.Dial(ctx, client.Config{URL: "ws://" + addr + "/ws", Name: fmt.Sprintf("honest%d", i), Transport: "ws",
			OnSnapshot: func(s *client.Snapshot) {
				h.mu.Lock()
				h.ticks[i][s.Tick] = true
				h.mu.Unlock()
			}})
		if err != nil {
			return nil, err
		}
		h.players = append(h.players, c)
		if i == 0 {
			created, err := c.CreateRoom(ctx, 0)
			if err != nil {
				return nil, err
			}
			h.roomID = created.GetId()
		}
		j, err := c.Join(ctx, h.roomID, false)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			h.fromTick = j.GetTick()
		}
		h.wg.Go(func() {
			tk := time.NewTicker(time.Second / 60)
			defer tk.Stop()
			for n := 0; ctx.Err() == nil; n++ {
				<-tk.C
				if _, err := c.SendInput(arena.AppendInput(nil, sim.Buttons(n/30%16), uint16(n%sim.AimSteps)), 0); err != nil {
					return
				}
			}
		})
	}
	h.wg.Go(func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for n := 0; ctx.Err() == nil; n++ {
			<-tk.C
			if !h.counting.Load() {
				continue
			}
			h.attempts.Add(1)
			if h.newcomer(n) == nil {
				h.admitted.Add(1)
			}
		}
	})
	return h, nil
}

func (h *honest) newcomer(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ip := fmt.Sprintf("127.0.%d.%d", 1+n/250, 1+n%250)
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := client.Dial(ctx, client.Config{URL: "ws://" + h.addr + "/ws", Name: fmt.Sprintf("new%d", n), Transport: "ws",
		Dial: wsconn.DialOptions{DialContext: d.DialContext}, Reconnect: client.Backoff{Disabled: true}})
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.CreateRoom(ctx, 2)
	if err != nil {
		return err
	}
	_, err = c.Join(ctx, r.GetId(), false)
	return err
}

// begin starts counting: the newcomers and the snapshot window.
func (h *honest) begin() {
	h.mu.Lock()
	top := uint32(0)
	for tk := range h.ticks[0] {
		top = max(top, tk)
	}
	h.fromTick = top + 1
	h.mu.Unlock()
	h.counting.Store(true)
}

// end stops counting and reports the newcomers and the players'
// snapshots per snapshot tick (one tick in two) over the window.
func (h *honest) end() (attempts, admitted int64, delivery float64) {
	h.counting.Store(false)
	time.Sleep(200 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	top := uint32(0)
	for tk := range h.ticks[0] {
		top = max(top, tk)
	}
	got, want := 0, 0
	for _, seen := range h.ticks {
		for tk := h.fromTick; tk+10 <= top; tk++ {
			if tk%2 == 0 {
				want++
				if seen[tk] {
					got++
				}
			}
		}
	}
	if want > 0 {
		delivery = float64(got) / float64(want)
	}
	return h.attempts.Load(), h.admitted.Load(), delivery
}

func (h *honest) stop() {
	h.cancel()
	for _, c := range h.players {
		_ = c.Close()
	}
	h.wg.Wait()
}

// peer is a raw attacker connection.
type peer struct {
	c   *wstest.Conn
	seq uint32
}

func dial(ip, addr string) (*peer, error) {
	c, err := wstest.DialFrom(ip, addr, "/ws")
	if err != nil {
		return nil, err
	}
	return &peer{c: c}, nil
}

func (p *peer) send(m *sessionpb.ClientMessage) error {
	switch m.Body.(type) {
	case *sessionpb.ClientMessage_Hello, *sessionpb.ClientMessage_Inputs, *sessionpb.ClientMessage_Heartbeat,
		*sessionpb.ClientMessage_Ack, *sessionpb.ClientMessage_Bye:
	default:
		p.seq++
		m.Seq, m.RequestId = p.seq, p.seq
	}
	return p.c.Binary(netcode.Marshal(m))
}

var errClosed = errors.New("closed")

// until reads until match accepts a message; an Error frame answering rid
// (or fatal) is returned as an error.
func (p *peer) until(timeout time.Duration, rid uint32) (*sessionpb.ServerMessage, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := p.c.Read(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if m.Opcode == wstest.OpClose {
			return nil, errClosed
		}
		var sm sessionpb.ServerMessage
		if proto.Unmarshal(m.Payload, &sm) != nil {
			continue
		}
		if e := sm.GetError(); e != nil && (e.GetFatal() || sm.RequestId == rid) {
			return nil, fmt.Errorf("%v", e.GetCode())
		}
		if sm.RequestId == rid && (rid != 0 || sm.GetWelcome() != nil) {
			return &sm, nil
		}
	}
}

func (p *peer) hello(name string, tok []byte) (*sessionpb.Welcome, error) {
	if err := p.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{
		ProtocolVersion: netcode.ProtocolVersion, Name: name, ResumeToken: tok}}}); err != nil {
		return nil, err
	}
	m, err := p.until(5*time.Second, 0)
	if err != nil {
		return nil, err
	}
	return m.GetWelcome(), nil
}

func (p *peer) request(m *sessionpb.ClientMessage) (*sessionpb.ServerMessage, error) {
	if err := p.send(m); err != nil {
		return nil, err
	}
	return p.until(5*time.Second, m.RequestId)
}

var heartbeat = netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{Time: 1}}})

// attack runs one attacker of kind from ip until ctx ends.
func attack(ctx context.Context, kind, ip string, worker int, addr, roomID string, c *counters) {
	switch kind {
	case "rooms":
		var tokens [][]byte
		for i := 0; ctx.Err() == nil; i++ {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			c.ops.Add(1)
			if i%2 == 1 && len(tokens) > 0 {
				if w, err := p.hello("squat", tokens[0]); err == nil {
					tokens[0] = w.GetResumeToken()
				} else {
					c.refused.Add(1)
				}
				p.c.Close()
				continue
			}
			w, err := p.hello("squat", nil)
			if err == nil {
				var r *sessionpb.ServerMessage
				if r, err = p.request(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: 1}}}); err == nil {
					_, _ = p.request(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: r.GetRoomCreated().GetRoom().GetId()}}})
					tokens = append(tokens, w.GetResumeToken())
				}
			}
			if err != nil {
				c.refused.Add(1)
			}
			p.c.Close() // held
		}
	case "sessions":
		for ctx.Err() == nil {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			c.ops.Add(1)
			if _, err := p.hello("squat", nil); err != nil {
				c.refused.Add(1)
			}
			p.c.Close()
		}
	case "churn":
		for ctx.Err() == nil {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			if _, err := p.hello("churn", nil); err != nil {
				p.c.Close()
				continue
			}
			for i := 0; ctx.Err() == nil; i++ {
				c.ops.Add(2)
				if _, err := p.request(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID, Spectate: i%2 == 0}}}); err != nil {
					c.refused.Add(2)
					if err == errClosed || !strings.HasPrefix(err.Error(), "ERROR") {
						break
					}
					continue
				}
				if _, err := p.request(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_LeaveRoom{LeaveRoom: &sessionpb.LeaveRoom{}}}); err != nil {
					c.refused.Add(1)
				}
				_ = p.send(&sessionpb.ClientMessage{AckSeq: 1 << 30, Body: &sessionpb.ClientMessage_Ack{Ack: &sessionpb.Ack{}}})
			}
			p.c.Close()
		}
	case "lobby":
		for ctx.Err() == nil {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			if _, err := p.hello("lobby", nil); err != nil {
				p.c.Close()
				continue
			}
			go func() {
				for i := 0; ctx.Err() == nil; i++ {
					m := &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_ListRooms{ListRooms: &sessionpb.ListRooms{}}}
					if i%4 == 0 {
						m = &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_CreateRoom{CreateRoom: &sessionpb.CreateRoom{Capacity: 1}}}
					}
					if p.send(m) != nil {
						return
					}
					c.ops.Add(1)
				}
			}()
			for ctx.Err() == nil {
				m, err := p.c.Read(2 * time.Second)
				if err != nil || m.Opcode == wstest.OpClose {
					break
				}
				var sm sessionpb.ServerMessage
				if proto.Unmarshal(m.Payload, &sm) == nil && sm.GetError() != nil {
					c.refused.Add(1)
				}
			}
			p.c.Close()
		}
	case "bursts":
		for ctx.Err() == nil {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			if _, err := p.hello("bursts", nil); err != nil {
				p.c.Close()
				continue
			}
			go func() { _, _ = io.Copy(io.Discard, p.c.R) }()
			for ctx.Err() == nil {
				ok := true
				for range 400 {
					if p.c.Binary(heartbeat) != nil {
						ok = false
						break
					}
					c.ops.Add(1)
				}
				if !ok {
					c.refused.Add(1) // cut
					break
				}
				time.Sleep(300 * time.Millisecond)
			}
			p.c.Close()
		}
	case "poll":
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}, Timeout: 5 * time.Second}
		var body []byte
		for range 1400 {
			body = pollconn.Append(body, heartbeat)
		}
		hello := pollconn.Append(nil, netcode.Marshal(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{Hello: &sessionpb.Hello{
			ProtocolVersion: netcode.ProtocolVersion, Name: "poll"}}}))
		for ctx.Err() == nil {
			resp, err := hc.Post("http://"+addr+"/poll", pollconn.ContentType, nil)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			resp.Body.Close()
			sid, key := resp.Header.Get(pollconn.HeaderID), resp.Header.Get(pollconn.HeaderKey)
			if resp.StatusCode != http.StatusCreated {
				c.refused.Add(1)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			post := func(b []byte) int {
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/poll?sid="+sid, strings.NewReader(string(b)))
				req.Header.Set(pollconn.HeaderKey, key)
				resp, err := hc.Do(req)
				if err != nil {
					return 0
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			if post(hello) != http.StatusNoContent {
				c.refused.Add(1)
				continue
			}
			for ctx.Err() == nil {
				c.ops.Add(1400)
				if st := post(body); st != http.StatusNoContent {
					c.refused.Add(1)
					break
				}
				time.Sleep(300 * time.Millisecond)
			}
		}
	case "chat":
		for ctx.Err() == nil {
			p, err := dial(ip, addr)
			if err != nil {
				continue
			}
			if _, err := p.hello("chatty", nil); err != nil {
				p.c.Close()
				continue
			}
			go func() { _, _ = io.Copy(io.Discard, p.c.R) }()
			if err := p.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID, Spectate: true}}}); err != nil {
				p.c.Close()
				continue
			}
			tk := time.NewTicker(time.Second / 18) // under the event rate
			for ctx.Err() == nil {
				<-tk.C
				c.ops.Add(1)
				if p.send(&sessionpb.ClientMessage{AckSeq: 1 << 30, Body: &sessionpb.ClientMessage_Event{Event: &sessionpb.Event{Name: "chat", Payload: []byte("spam spam spam")}}}) != nil {
					c.refused.Add(1)
					break
				}
			}
			tk.Stop()
			p.c.Close()
		}
	case "idle":
		var conns []net.Conn
		d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		for i := 0; i < 100 && ctx.Err() == nil; i++ {
			conn, err := d.Dial("tcp", addr)
			if err != nil {
				continue
			}
			c.ops.Add(1)
			_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: arena\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != http.StatusOK {
				c.refused.Add(1)
			}
			conns = append(conns, conn)
		}
		<-ctx.Done()
		for _, conn := range conns {
			conn.Close()
		}
	case "metrics":
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}, Timeout: 5 * time.Second}
		for ctx.Err() == nil {
			resp, err := hc.Get("http://" + addr + "/metrics")
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.ops.Add(1)
			if resp.StatusCode != http.StatusOK {
				c.refused.Add(1)
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "attack: unknown kind %q\n", kind)
		os.Exit(2)
	}
}

// holdVictim seats a player in the room and drops its connection: its
// session is held. It returns the resume token.
func holdVictim(addr, roomID string) ([]byte, error) {
	p, err := dial("127.0.0.1", addr)
	if err != nil {
		return nil, err
	}
	defer p.c.Close()
	w, err := p.hello("victim", nil)
	if err != nil {
		return nil, err
	}
	if _, err := p.request(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID}}}); err != nil {
		return nil, err
	}
	return w.GetResumeToken(), nil
}

// resumeVictim resumes the held victim and says whether it got its seat
// back with no error after the Welcome.
func resumeVictim(addr string, tok []byte) string {
	p, err := dial("127.0.0.1", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer p.c.Close()
	w, err := p.hello("", tok)
	if err != nil {
		return "refused: " + err.Error()
	}
	if !w.GetResumed() {
		return "not resumed"
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m, err := p.c.Read(time.Until(deadline))
		if err != nil || m.Opcode == wstest.OpClose {
			return "closed after the Welcome"
		}
		var sm sessionpb.ServerMessage
		if proto.Unmarshal(m.Payload, &sm) != nil {
			continue
		}
		if e := sm.GetError(); e != nil && e.GetFatal() {
			return "fatal " + e.GetCode().String()
		}
		if sm.GetSnapshot() != nil {
			return "resumed into its seat"
		}
	}
	return "no snapshot"
}

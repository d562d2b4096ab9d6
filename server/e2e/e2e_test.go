// Package e2e tests the server's operating side from outside, as an operator
// and an orchestrator see it: the real server binary (bots/serverproc), real
// bots (bots/swarm), Prometheus scrapes, signals, and a real browser on the
// dashboard and playing at /play (directly, through nginx, across a
// restart). It holds tests only.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// adminToken is the admin token of the servers these tests start (unless
// a test names its own): /metrics on the public address needs it.
const adminToken = "e2e-metrics-token"

// startServer runs the real server binary on a free loopback port.
func startServer(t *testing.T, args ...string) *serverproc.Proc {
	t.Helper()
	if !slices.Contains(args, "-admin-token") {
		args = append([]string{"-admin-token", adminToken}, args...)
	}
	return serverproc.StartForTest(t, args...)
}

// noKeepAlive is an HTTP client that leaves no idle connection (and so no
// goroutine) behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// scrape is one parsed /metrics answer.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	code, body := get(t, "http://"+addr+"/metrics", "Authorization", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, "the scrape parses as the Prometheus text format")
	return fams
}

// value is the sample of name whose labels include every pair in labels
// (name=value, ...), summed over the matching series; histograms and
// summaries give their sample count.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	f := s[name]
	require.NotNil(t, f, "metric %s missing", name)
	sum, found := 0.0, false
	for _, m := range f.Metric {
		ok := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			has := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					has = true
				}
			}
			ok = ok && has
		}
		if !ok {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.Summary.GetSampleCount())
		}
	}
	require.True(t, found, "no series of %s with %v", name, labels)
	return sum
}

// rawPlayer is a protocol client that keeps every server message, to see
// what the reference client hides (Draining, the close code).
type rawPlayer struct {
	conn *wsconn.ClientConn
	mu   sync.Mutex
	msgs []*sessionpb.ServerMessage
	rid  uint32
}

func dialRaw(t *testing.T, addr, name string) *rawPlayer {
	t.Helper()
	return dialRawHello(t, addr, &sessionpb.Hello{ProtocolVersion: netcode.ProtocolVersion, Name: name})
}

// dialRawHello is dialRaw with a Hello of the caller's.
func dialRawHello(t *testing.T, addr string, hello *sessionpb.Hello) *rawPlayer {
	t.Helper()
	p := &rawPlayer{}
	c, err := wsconn.Dial(context.Background(), "ws://"+addr+"/ws", wsconn.DialOptions{}, func(b []byte) {
		m := &sessionpb.ServerMessage{}
		if netcode.DecodeServer(b, m) != nil {
			return
		}
		if hb := m.GetHeartbeat(); hb != nil {
			// Echo heartbeats, or the server cuts a silent connection.
			p.send(&sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{Time: hb.Time}}})
			return
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, m)
		p.mu.Unlock()
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); <-c.Done() })
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
	p.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_Hello{Hello: hello}})
	return p
}

func (p *rawPlayer) send(m *sessionpb.ClientMessage) {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		_ = c.Send(netcode.Marshal(m))
	}
}

// request sends m and waits for the reply with its request id.
func (p *rawPlayer) request(t *testing.T, m *sessionpb.ClientMessage) *sessionpb.ServerMessage {
	t.Helper()
	p.rid++
	m.RequestId = p.rid
	require.NoError(t, p.conn.Send(netcode.Marshal(m)))
	var reply *sessionpb.ServerMessage
	require.Eventually(t, func() bool {
		reply = p.find(func(s *sessionpb.ServerMessage) bool { return s.RequestId == m.RequestId })
		return reply != nil
	}, 5*time.Second, 5*time.Millisecond, "no reply to %T", m.Body)
	return reply
}

func (p *rawPlayer) join(t *testing.T, roomID string) *sessionpb.ServerMessage {
	t.Helper()
	return p.request(t, &sessionpb.ClientMessage{Body: &sessionpb.ClientMessage_JoinRoom{JoinRoom: &sessionpb.JoinRoom{RoomId: roomID}}})
}

func (p *rawPlayer) find(f func(*sessionpb.ServerMessage) bool) *sessionpb.ServerMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		if f(m) {
			return m
		}
	}
	return nil
}

// last describes the player's n newest messages (for failure messages).
func (p *rawPlayer) last(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs[max(0, len(p.msgs)-n):] {
		out = append(out, fmt.Sprintf("%T %v", m.Body, m.GetError()))
	}
	return out
}

func (p *rawPlayer) drainings() []uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []uint32
	for _, m := range p.msgs {
		if d := m.GetDraining(); d != nil {
			out = append(out, d.SecondsLeft)
		}
	}
	return out
}

func fmtMsg(m *sessionpb.ServerMessage) string { return fmt.Sprintf("%v", m) }

package gateway

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/metrics"
)

// heartbeat runs beside one connection until its link closes: every
// Config.Heartbeat it sends a Heartbeat (once the connection belongs to a
// session; on a busy connection, one that received a frame within the last
// interval, only every busyHeartbeats intervals, since its inputs already
// prove it alive and a round trip every few seconds is enough)
// carrying the last measured round trip and the session's
// acknowledgement of the client's reliable frames, and it cuts the
// connection after Config.HeartbeatTimeout without a frame from the client.
// Cutting detaches the session, which is then held. A connection that has
// not said Hello within Limits.HelloTimeout of opening is closed with
// Error{TIMEOUT}. The goroutine exits when the link closes.
func (s *Server) heartbeat(c *conn) {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	hello := time.NewTimer(time.Until(c.opened.Add(s.cfg.Limits.HelloTimeout)))
	defer hello.Stop()
	skipped := busyHeartbeats - 1 // the first heartbeat goes at once: a round trip early on
	var told []string             // the peers this connection was last told of
	for {
		select {
		case <-c.link.Done():
			return
		case <-hello.C:
			if c.sess.Load() == nil {
				s.cfg.Metrics.HandshakeFailed(metrics.HandshakeTimeout)
				s.protocolErrors.Add(1)
				c.link.Close(errHelloTimeout.Frame(0), errHelloTimeout)
				return
			}
		case now := <-t.C:
			if idle := now.Sub(time.Unix(0, c.lastRead.Load())); idle >= s.cfg.HeartbeatTimeout {
				s.heartbeatTimeouts.Add(1)
				e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TIMEOUT, "nothing received for %v", idle.Round(time.Millisecond))
				c.link.Close(e.Frame(0), e)
				return
			}
			p := c.sess.Load()
			if p == nil {
				continue
			}
			if busy := now.Sub(time.Unix(0, c.lastRead.Load())) < s.cfg.Heartbeat; busy && skipped < busyHeartbeats-1 {
				skipped++
				continue
			}
			skipped = 0
			p.mu.Lock()
			ack := p.clientSeq
			p.mu.Unlock()
			var peers []string
			if cur := s.peers(); !slices.Equal(cur, told) {
				peers, told = cur, cur
			}
			c.link.Send(netcode.Marshal(&sessionpb.ServerMessage{AckSeq: ack, Body: &sessionpb.ServerMessage_Heartbeat{Heartbeat: &sessionpb.Heartbeat{
				Time: uint64(now.UnixNano()), RttUs: uint32(min(c.rtt.Load()/1000, 1<<32-1)), Peers: peers,
			}}}))
		}
	}
}

// busyHeartbeats is how many intervals apart heartbeats go on a busy
// connection: a player in a match sends 60 inputs a second, which the
// silence watch counts, so a heartbeat there only refreshes the round trip.
const busyHeartbeats = 5

// heartbeatAnswered records the round trip of an echoed heartbeat.
func (c *conn) heartbeatAnswered(sent uint64) {
	rtt := time.Since(time.Unix(0, int64(sent)))
	if rtt < 0 || rtt > time.Minute {
		return // not a time this server sent
	}
	c.rtt.Store(int64(rtt))
	c.srv.rtt.add(rtt)
}

// RTTStats summarises the round trips measured by heartbeats over the last
// rttWindow samples, on every connection.
type RTTStats struct {
	Samples       uint64 // heartbeats answered since start
	P50, P99, Max time.Duration
}

const rttWindow = 1024

// rttStats keeps the last rttWindow round trips. Safe for concurrent use.
type rttStats struct {
	mu      sync.Mutex
	ring    [rttWindow]time.Duration
	n       uint64
	scratch []time.Duration
}

func (r *rttStats) add(d time.Duration) {
	r.mu.Lock()
	r.ring[r.n%rttWindow] = d
	r.n++
	r.mu.Unlock()
}

func (r *rttStats) snapshot() RTTStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := int(min(r.n, rttWindow))
	if k == 0 {
		return RTTStats{}
	}
	r.scratch = append(r.scratch[:0], r.ring[:k]...)
	sort.Slice(r.scratch, func(i, j int) bool { return r.scratch[i] < r.scratch[j] })
	pick := func(q float64) time.Duration { return r.scratch[min(k-1, int(q*float64(k)))] }
	return RTTStats{Samples: r.n, P50: pick(0.5), P99: pick(0.99), Max: r.scratch[k-1]}
}

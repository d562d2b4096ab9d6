package gateway

import (
	"errors"
	"sync/atomic"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/arenapb"
	"github.com/arenaserver/arena/server/metrics"
)

// peerStats are one connection's traffic counters, written by its read
// goroutine and read by Census.
type peerStats struct {
	bytesIn, messagesIn atomic.Uint64
}

func (s *peerStats) received(n int) {
	s.messagesIn.Add(1)
	s.bytesIn.Add(uint64(n))
}

// census keeps what closed connections counted, so that totals never go
// back when a connection ends. Guarded by Server.mu.
type census struct {
	retired metrics.Census
}

// opened counts a new connection; it runs with s.mu held.
func (c *census) opened(t metrics.Transport) { c.retired[t].Opened++ }

// retire moves p's counters into the totals and counts its disconnect;
// it runs with s.mu held, once p's transport is done with its outbox.
func (c *census) retire(p *peer, m *metrics.Counters) {
	st := &c.retired[p.transport]
	addTraffic(st, p)
	if !p.refused {
		m.Disconnected(p.transport, disconnectReason(p.out.Reason()))
	}
}

func addTraffic(st *metrics.TransportStats, p *peer) {
	st.BytesIn += p.stats.bytesIn.Load()
	st.MessagesIn += p.stats.messagesIn.Load()
	frames, bytes := p.out.Taken()
	st.MessagesOut += frames
	st.BytesOut += bytes
	st.SnapshotsDropped += p.out.Replaced()
}

// Census reports every transport's open connections, seated players and
// traffic since the server started. Safe for concurrent use; it costs one
// pass over the connections, under the lock that guards them.
func (s *Server) Census() metrics.Census {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.census.retired
	for p := range s.peers {
		st := &out[p.transport]
		st.Connections++
		if m := p.member(); m != nil {
			if m.PlayerID() != 0 {
				st.Players++
			} else {
				st.Spectators++
			}
		}
		addTraffic(st, p)
	}
	return out
}

// disconnectReason maps why an outbox closed to a metrics reason.
func disconnectReason(reason error) metrics.DisconnectReason {
	if reason == nil {
		return metrics.DisconnectClosed
	}
	var e *netcode.Error
	if !errors.As(reason, &e) {
		return metrics.DisconnectInternal
	}
	switch e.Code {
	case arenapb.ErrorCode_ERROR_CODE_SLOW_CONSUMER:
		return metrics.DisconnectSlowConsumer
	case arenapb.ErrorCode_ERROR_CODE_TIMEOUT:
		return metrics.DisconnectTimeout
	case arenapb.ErrorCode_ERROR_CODE_SHUTTING_DOWN:
		return metrics.DisconnectShutdown
	case arenapb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return metrics.DisconnectRateLimited
	case arenapb.ErrorCode_ERROR_CODE_INTERNAL:
		return metrics.DisconnectInternal
	}
	return metrics.DisconnectProtocol
}

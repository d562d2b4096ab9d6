package gateway

import (
	"errors"
	"sync/atomic"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/metrics"
)

// connStats are one connection's receive counters, written by its read
// side and read by Census.
type connStats struct {
	bytesIn, messagesIn atomic.Uint64
}

func (s *connStats) received(n int) {
	s.messagesIn.Add(1)
	s.bytesIn.Add(uint64(n))
}

// transportOf maps a conn's kind to its metrics label.
func transportOf(kind string) metrics.Transport {
	if kind == "poll" {
		return metrics.TransportPoll
	}
	return metrics.TransportWS
}

// census keeps what ended connections and sessions counted, so that totals
// never go back. Guarded by Server.mu.
type census struct {
	retired metrics.Census
}

// opened counts a new connection; s.mu is held.
func (c *census) opened(cn *conn) { c.retired[transportOf(cn.kind)].Opened++ }

// retire moves cn's counters into the totals and counts its disconnect;
// s.mu is held, and cn's transport is done with its link.
func (c *census) retire(cn *conn, m *metrics.Counters) {
	t := transportOf(cn.kind)
	addTraffic(&c.retired[t], cn)
	if !cn.refused {
		m.Disconnected(t, disconnectReason(cn.link.Reason()))
	}
}

// retireSession keeps the snapshots an ended session's outbox dropped;
// s.mu is held.
func (c *census) retireSession(p *session) {
	p.mu.Lock()
	kind := p.kind
	p.mu.Unlock()
	st := &c.retired[transportOf(kind)]
	st.SnapshotsDropped += p.out.Replaced()
	rosters, events := p.out.Compacted()
	st.RostersDropped += rosters
	st.HeldEventsDropped += events
}

func addTraffic(st *metrics.TransportStats, cn *conn) {
	st.BytesIn += cn.stats.bytesIn.Load()
	st.MessagesIn += cn.stats.messagesIn.Load()
	frames, bytes := cn.link.Taken()
	st.MessagesOut += frames
	st.BytesOut += bytes
}

// Census reports, per transport, the open connections, the seated players
// and spectators (a held session counts under the transport it last used),
// and the traffic since the server started. Safe for concurrent use; it
// walks the connections and sessions: call it about once a second.
func (s *Server) Census() metrics.Census {
	s.mu.Lock()
	out := s.census.retired
	for c := range s.open {
		st := &out[transportOf(c.kind)]
		st.Connections++
		addTraffic(st, c)
	}
	sessions := make([]*session, 0, len(s.sessions))
	for _, p := range s.sessions {
		sessions = append(sessions, p)
	}
	s.mu.Unlock()
	for _, p := range sessions {
		p.mu.Lock()
		kind, held := p.kind, p.link == nil
		p.mu.Unlock()
		st := &out[transportOf(kind)]
		st.SnapshotsDropped += p.out.Replaced()
		rosters, events := p.out.Compacted()
		st.RostersDropped += rosters
		st.HeldEventsDropped += events
		if held {
			st.HeldSessions++
		}
		if m := p.member(); m != nil {
			if m.PlayerID() != 0 {
				st.Players++
			} else {
				st.Spectators++
			}
		}
	}
	return out
}

// disconnectReason maps why a connection's link closed to a metrics reason.
func disconnectReason(reason error) metrics.DisconnectReason {
	switch {
	case reason == nil, errors.Is(reason, errBye):
		return metrics.DisconnectClosed
	case errors.Is(reason, outbox.ErrReplaced):
		return metrics.DisconnectMoved
	}
	var e *netcode.Error
	if !errors.As(reason, &e) {
		return metrics.DisconnectInternal
	}
	switch e.Code {
	case sessionpb.ErrorCode_ERROR_CODE_SLOW_CONSUMER:
		return metrics.DisconnectSlowConsumer
	case sessionpb.ErrorCode_ERROR_CODE_TIMEOUT:
		return metrics.DisconnectTimeout
	case sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN:
		return metrics.DisconnectShutdown
	case sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return metrics.DisconnectRateLimited
	case sessionpb.ErrorCode_ERROR_CODE_INTERNAL:
		return metrics.DisconnectInternal
	case sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED:
		return metrics.DisconnectMoved
	case sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, sessionpb.ErrorCode_ERROR_CODE_TOKEN_EXPIRED,
		sessionpb.ErrorCode_ERROR_CODE_TOKEN_USED, sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED:
		return metrics.DisconnectResumeRefused
	}
	return metrics.DisconnectProtocol
}

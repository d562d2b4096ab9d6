package gateway

import (
	"math"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

func drainingFrame(left time.Duration) []byte {
	secs := uint32(math.Ceil(max(left, 0).Seconds()))
	return netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Draining{Draining: &sessionpb.Draining{SecondsLeft: secs}}})
}

// tellDraining sends a new session its first Draining notice, right after
// its Welcome, when the server is already draining.
func (s *Server) tellDraining(l *outbox.Link) {
	if until := s.drainUntil.Load(); until != 0 {
		l.Send(drainingFrame(time.Until(time.Unix(0, until))))
	}
}

// NotifyDraining sends Draining{seconds_left} (left rounded up to whole
// seconds) to every session that has a transport now, and returns how many
// it told; a session that starts later is told right after its Welcome.
// It is not sequenced or replayed: a held session hears of the drain from
// the next notice after it resumes.
func (s *Server) NotifyDraining(left time.Duration) int {
	s.drainUntil.Store(time.Now().Add(left).UnixNano())
	frame := drainingFrame(left)
	told := 0
	for _, p := range s.liveSessions() {
		p.mu.Lock()
		l := p.link
		p.mu.Unlock()
		if l != nil && l.Send(frame) {
			told++
		}
	}
	return told
}

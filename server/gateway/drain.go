package gateway

import (
	"math"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/arenapb"
)

// NotifyDraining sends Draining{seconds_left} (left rounded up to whole
// seconds) to every session that has a transport now, and returns how many
// it told. It is not sequenced or replayed: a held session hears of the
// drain from the next notice after it resumes.
func (s *Server) NotifyDraining(left time.Duration) int {
	secs := uint32(math.Ceil(max(left, 0).Seconds()))
	frame := netcode.Marshal(&arenapb.ServerMessage{Body: &arenapb.ServerMessage_Draining{Draining: &arenapb.Draining{SecondsLeft: secs}}})
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

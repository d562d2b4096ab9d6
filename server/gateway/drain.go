package gateway

import (
	"math"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/arenapb"
)

// NotifyDraining pushes Draining{seconds_left} (left rounded up to whole
// seconds) to every client past its handshake and returns how many it
// told. A client whose reliable queue is full is skipped: it is already
// on its way out as a slow consumer.
func (s *Server) NotifyDraining(left time.Duration) int {
	secs := uint32(math.Ceil(max(left, 0).Seconds()))
	frame := netcode.Marshal(&arenapb.ServerMessage{Body: &arenapb.ServerMessage_Draining{Draining: &arenapb.Draining{SecondsLeft: secs}}})
	s.mu.Lock()
	peers := make([]*peer, 0, len(s.peers))
	for p := range s.peers {
		if p.display.Load() != nil {
			peers = append(peers, p)
		}
	}
	s.mu.Unlock()
	told := 0
	for _, p := range peers {
		if p.out.Push(frame) == nil {
			told++
		}
	}
	return told
}

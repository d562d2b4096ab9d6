package gateway

import (
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/arenapb"
)

// Events is the server's registry of named event handlers (stage 3).
type Events struct {
	srv *Server
}

func newEvents(s *Server) *Events { return &Events{srv: s} }

func (e *Events) dispatch(c *conn, s *session, rid uint32, ev *arenapb.Event) error {
	return s.refuse(c, rid, netcode.Errorf(arenapb.ErrorCode_ERROR_CODE_UNKNOWN_EVENT, "unknown event %q", ev.GetName()))
}

func (e *Events) answered(*session, *arenapb.EventAck) {}

package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/lobby"
	"github.com/arenaserver/arena/server/metrics"
	"github.com/arenaserver/arena/server/room"
	"github.com/arenaserver/arena/server/token"
)

// maxInputsPerBatch bounds one InputBatch: the newest input plus a few
// unacknowledged ones resent.
const maxInputsPerBatch = 32

// conn is one transport connection (a WebSocket, or a long-polling
// channel). It speaks the handshake itself and hands everything after it to
// the session it is attached to. Frame, Reject and Closed run on the
// transport's read side, one at a time.
type conn struct {
	srv  *Server
	link *outbox.Link
	kind string // "ws" or "poll"
	sess atomic.Pointer[session]
	dec  netcode.ClientDecoder // decode buffers, owned by the read side

	// Written by the read side, read by the heartbeat goroutine.
	lastRead atomic.Int64 // unix nanos of the last frame received
	rtt      atomic.Int64 // last measured round trip, nanoseconds

	ip     string     // remote address, for the per-address limit
	opened time.Time  // when the transport opened (the hello deadline runs from it)
	lim    connLimits // owned by the read side
	now    time.Time  // when the frame being handled arrived; owned by the read side

	// For metrics (census.go).
	stats   connStats
	refused bool // the transport refused the connection (upgrade failed); set before untrack
}

func (s *Server) newConn(kind, ip string) *conn {
	now := time.Now()
	c := &conn{srv: s, link: outbox.NewLink(), kind: kind, ip: ip, opened: now, lim: newConnLimits(&s.cfg.Limits)}
	c.lastRead.Store(now.UnixNano())
	return c
}

// session is one client's protocol state, from Hello until it ends: the
// outbox with its reliable log, the room seat, the identity and the resume
// tokens. Transports attach to it and detach from it; while none is
// attached the session is held (seat kept, player idle) for Config.Hold.
type session struct {
	srv     *Server
	id      token.SessionID
	name    string
	ip      string // the address that created it: its budgets (budgets.go)
	out     *outbox.Outbox
	seat    atomic.Pointer[seat]
	display atomic.Pointer[string] // the name, for other goroutines (admin views, tests)
	// redirects: the client follows a Redirect (Hello.follows_redirects).
	redirects bool
	// moves: the client follows a Move (Hello.follows_moves): a drain may
	// hand the session to another server (handoff.go).
	moves bool

	// frameMu serializes frame handling: after a transport switch, the old
	// connection's last frames may race the new one's first.
	frameMu   sync.Mutex
	inputs    []game.Input  // scratch, guarded by frameMu
	inputsBuf [8]game.Input // inputs' backing array while a batch fits
	ackedTick uint32        // the last snapshot tick handed to the member's Ack; guarded by frameMu
	ackedBy   *room.Member  // the member it was handed to
	lim       sessionLimits // guarded by frameMu
	clientSeq uint32        // highest ClientMessage.seq processed; guarded by frameMu and mu
	ackedOut  uint32        // clientSeq last acknowledged to the client; guarded by frameMu
	ackSeen   uint32        // highest ClientMessage.ack_seq handed to the outbox; guarded by frameMu
	seqGap    bool          // restored from a checkpoint: the next client seq may skip; guarded by frameMu

	mu        sync.Mutex // guards the fields below
	link      *outbox.Link
	kind      string      // transport of link
	hold      *time.Timer // running while detached
	heldSince time.Time
	ended     bool
	// Tokens: generations >= minGen are valid until they expire. A resume
	// spends every generation issued so far; lastUsed may be spent again
	// only while its resume is unconfirmed (its Welcome may not have
	// arrived) and the session is detached.
	nextGen   uint32
	minGen    uint32
	lastUsed  uint32
	confirmed bool
	issuedAt  time.Time
	nextAck   uint32                              // last Event.ack_id given out
	movedTo   string                              // the server this session was handed to (ended here) ...
	movedRoom string                              // ... with this room ...
	movedTick uint32                              // ... frozen at this tick
	movedIn   bool                                // adopted from another server; not resumed here yet
	restored  bool                                // restored from a checkpoint; not resumed here yet
	acks      map[uint32]chan *sessionpb.EventAck // EmitAck callers waiting
}

// seat is one membership; gone turns true when the room drops it.
type seat struct {
	m    *room.Member
	gone atomic.Bool
}

func (p *session) member() *room.Member {
	if s := p.seat.Load(); s != nil && !s.gone.Load() {
		return s.m
	}
	return nil
}

// Frame handles one client frame. It returns a *netcode.Error for fatal
// problems, after queuing the error frame as the last one.
func (c *conn) Frame(data []byte) error {
	now := time.Now()
	c.now = now
	c.lastRead.Store(now.UnixNano())
	c.stats.received(len(data))
	if ok, e := c.lim.admit(now, len(data)); e != nil {
		return c.fatal(e)
	} else if !ok {
		c.srv.framesDropped.Add(1)
		c.srv.cfg.Metrics.BudgetRefused(metrics.BudgetFrameRate)
		return nil // over a rate: dropped before any work
	}
	msg, err := c.dec.Decode(data)
	if err != nil {
		if errors.Is(err, netcode.ErrUnknownMessage) {
			return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type"))
		}
		return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "frame is not a ClientMessage"))
	}
	s := c.sess.Load()
	if hello, ok := msg.Body.(*sessionpb.ClientMessage_Hello); ok {
		if s != nil {
			c.srv.cfg.Metrics.HandshakeFailed(metrics.HandshakeBadHello)
			return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE, "Hello sent twice"))
		}
		return c.handshake(msg.RequestId, hello.Hello)
	}
	if s == nil {
		c.srv.cfg.Metrics.HandshakeFailed(metrics.HandshakeBadHello)
		return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE, "the first message must be Hello"))
	}
	return s.handle(c, msg)
}

// Reject ends what a transport-detected protocol error ends.
func (c *conn) Reject(e *netcode.Error) { _ = c.fatal(e) }

// fatal ends the session (or, before the handshake, the connection) with e
// as the last frame, and returns e, which stops the reader.
func (c *conn) fatal(e *netcode.Error) error {
	c.srv.protocolErrors.Add(1)
	if s := c.sess.Load(); s != nil {
		s.end(e, e.Frame(0))
	} else {
		c.link.Close(e.Frame(0), e)
	}
	return e
}

// refuseHandshake closes this connection (there is no session to end).
func (c *conn) refuseHandshake(e *netcode.Error) error {
	c.srv.protocolErrors.Add(1)
	c.link.Close(e.Frame(0), e)
	return e
}

// Closed detaches the connection from its session, which is then held.
func (c *conn) Closed(error) {
	c.link.Close(nil, nil)
	if s := c.sess.Load(); s != nil {
		s.detach(c.link)
	}
}

func (c *conn) handshake(rid uint32, h *sessionpb.Hello) error {
	if v := h.GetProtocolVersion(); v != netcode.ProtocolVersion {
		c.srv.cfg.Metrics.HandshakeFailed(metrics.HandshakeVersion)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_PROTOCOL_VERSION,
			"server speaks protocol version %d, client sent %d", netcode.ProtocolVersion, v))
	}
	if len(h.GetResumeToken()) > 0 {
		return c.resume(rid, h)
	}
	name, err := normalizeName(h.GetName())
	if err != nil {
		c.srv.cfg.Metrics.HandshakeFailed(metrics.HandshakeBadHello)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_HANDSHAKE, "%v", err))
	}
	s, err := c.srv.newSession(name, c.ip, h.GetFollowsRedirects(), h.GetFollowsMoves())
	if errors.Is(err, errAddressSessions) {
		c.srv.cfg.Metrics.BudgetRefused(metrics.BudgetSessionsPerAddress)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET,
			"this address holds %d sessions (held ones count), the most one address may; end some (Bye) or wait for their hold to pass", c.srv.cfg.Limits.MaxSessionsPerIP))
	}
	if errors.Is(err, errTooManySessions) {
		c.srv.cfg.Metrics.HandshakeFailed(metrics.HandshakeConnLimit)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SERVER_FULL, "server holds as many sessions as it allows"))
	}
	if err != nil {
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "server is shutting down"))
	}
	s.mu.Lock()
	tok, exp := s.issueLocked()
	s.link, s.kind = c.link, c.kind
	s.mu.Unlock()
	c.sess.Store(s)
	c.link.Send(netcode.Marshal(c.srv.welcome(rid, s, tok, exp, false, 0)))
	c.srv.tellDraining(c.link)
	s.out.Attach(c.link, 0)
	c.srv.log.Debug("session started", "session", s.id.String(), "name", name, "transport", c.kind)
	return nil
}

// resume attaches this connection to the session the token names.
func (c *conn) resume(rid uint32, h *sessionpb.Hello) error {
	srv := c.srv
	srv.cfg.Metrics.Reconnected()
	claims, err := srv.signer.Verify(h.GetResumeToken(), time.Now())
	if err != nil {
		srv.cfg.Metrics.AuthFailed(metrics.AuthSessionToken)
	}
	switch {
	case errors.Is(err, token.ErrExpired):
		srv.resumeFailures.Add(1)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TOKEN_EXPIRED,
			"resume token expired at %s; start a new session", claims.Expires.UTC().Format(time.RFC3339)))
	case err != nil:
		srv.resumeFailures.Add(1)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, "resume token is not valid for this server"))
	}
	s, gone := srv.lookup(claims.Session)
	if s == nil && gone.movedTo != "" {
		// Handed to another server while this client was away: send it
		// there, as the Move it missed would have.
		c.link.Close(moveFrame(gone.movedTo, gone.roomID, gone.tick), errMovedAway)
		return errMovedAway
	}
	if s == nil && gone.id == (token.SessionID{}) && srv.cfg.Locator != nil {
		// Maybe another server of the fleet holds it (its server crashed
		// and it was restored elsewhere, or it moved): send the client
		// there, or have it retry while the fleet restores it.
		ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.JoinTimeout)
		addr, roomID, tick, err := srv.cfg.Locator.Locate(ctx, claims.Session.String())
		cancel()
		if err == nil && addr != "" {
			c.link.Close(moveFrame(addr, roomID, tick), errMovedAway)
			return errMovedAway
		}
		srv.resumeFailures.Add(1)
		e := netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_FLEET_UNAVAILABLE,
			"no server of the fleet holds this session now (%s); retry within the hold window", gone.why)
		c.link.Close(e.Frame(0), e)
		return e
	}
	if s == nil {
		srv.resumeFailures.Add(1)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED, "session ended: %s; the seat is gone, start a new session", gone.why))
	}
	// Serialize with frame handling: a takeover must not interleave with a
	// frame of the old connection.
	s.frameMu.Lock()
	defer s.frameMu.Unlock()
	s.mu.Lock()
	switch {
	case s.ended:
		s.mu.Unlock()
		srv.resumeFailures.Add(1)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED, "session ended; the seat is gone, start a new session"))
	case claims.Gen >= s.minGen:
	case claims.Gen == s.lastUsed && !s.confirmed && s.link == nil:
		// The last resume's Welcome never arrived: let the client retry it.
	default:
		s.mu.Unlock()
		srv.resumeFailures.Add(1)
		srv.cfg.Metrics.AuthFailed(metrics.AuthSessionToken)
		return c.refuseHandshake(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TOKEN_USED, "resume token already used; every resume returns a new one"))
	}
	old := s.link
	if s.hold != nil {
		s.hold.Stop()
		s.hold = nil
	}
	s.lastUsed, s.confirmed = claims.Gen, false
	s.nextGen = max(s.nextGen, claims.Gen+1) // a restored session's client may hold newer tokens
	restored := s.restored
	s.restored = false
	tok, exp := s.issueLocked()
	s.minGen = s.nextGen - 1 // only the token just issued stays valid
	s.link, s.kind = c.link, c.kind
	s.mu.Unlock()
	if old != nil {
		moved := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED, "session resumed on another connection")
		old.Close(moved.Frame(0), moved)
	}
	c.sess.Store(s)
	if m := s.member(); m != nil {
		if h.GetLastTick() != 0 && !restored {
			// (After a restore from a checkpoint, the client's newest tick
			// is of the crashed server's match: the room here may hold
			// another state under that number.)
			m.Ack(h.GetLastTick())
		} else {
			m.ForgetAck() // the client holds no state (a reloaded page): a full snapshot first
		}
		m.SetHeld(false)
	}
	s.mu.Lock()
	moved := s.movedIn
	s.movedIn = false
	s.mu.Unlock()
	w := srv.welcome(rid, s, tok, exp, true, s.clientSeq)
	if moved {
		w.GetWelcome().Moved = true
	}
	c.link.Send(netcode.Marshal(w))
	s.ackedOut = s.clientSeq
	if restored {
		// What the client got from the crashed server after the
		// checkpoint is gone: number on from what it has, and take its
		// reliable frames from wherever it goes on.
		s.out.Resync(h.GetLastSeq())
		s.seqGap = true
	}
	s.out.Attach(c.link, h.GetLastSeq())
	srv.resumes.Add(1)
	srv.cfg.Metrics.Resumed()
	srv.log.Debug("session resumed", "session", s.id.String(), "transport", c.kind, "last_seq", h.GetLastSeq())
	return nil
}

// issueLocked makes a new token; s.mu is held.
func (s *session) issueLocked() ([]byte, time.Time) {
	now := time.Now()
	exp := now.Add(s.srv.cfg.TokenTTL)
	tok := s.srv.signer.Sign(token.Claims{Session: s.id, Gen: s.nextGen, Expires: exp})
	s.nextGen++
	s.issuedAt = now
	return tok, exp
}

func (srv *Server) welcome(rid uint32, s *session, tok []byte, exp time.Time, resumed bool, ackSeq uint32) *sessionpb.ServerMessage {
	return (&sessionpb.ServerMessage{RequestId: rid, AckSeq: ackSeq, Body: &sessionpb.ServerMessage_Welcome{Welcome: &sessionpb.Welcome{
		ProtocolVersion: netcode.ProtocolVersion, TickRate: srv.cfg.TickRate, SnapshotRate: srv.cfg.SnapshotRate,
		Server: srv.cfg.ServerName, SessionId: s.id.String(), ResumeToken: tok, TokenExpiresMs: uint64(exp.UnixMilli()),
		Resumed: resumed, HoldMs: uint32(srv.cfg.Hold.Milliseconds()),
		HeartbeatMs: uint32(srv.cfg.Heartbeat.Milliseconds()), HeartbeatTimeoutMs: uint32(srv.cfg.HeartbeatTimeout.Milliseconds()),
		Games: srv.lobby.Games(), Peers: srv.peers(),
	}}})
}

// detach leaves the session without a transport, if link is still its
// current one, and starts the hold window.
func (s *session) detach(link *outbox.Link) {
	s.mu.Lock()
	if s.link != link || s.ended {
		s.mu.Unlock()
		return
	}
	s.link = nil
	if s.out.Closed() {
		// The room or the server ended the session; nothing to hold.
		s.mu.Unlock()
		reason := s.out.Reason()
		if reason == nil {
			reason = errors.New("closed by the server")
		}
		s.end(reason, nil)
		return
	}
	s.heldSince = time.Now()
	s.hold = time.AfterFunc(s.srv.cfg.Hold, s.expire)
	s.mu.Unlock()
	if m := s.member(); m != nil {
		m.SetHeld(true)
	}
	s.srv.log.Debug("session held", "session", s.id.String(), "hold", s.srv.cfg.Hold)
}

// expire ends a session whose hold window passed without a resume.
func (s *session) expire() {
	s.mu.Lock()
	held := s.link == nil && !s.ended
	s.mu.Unlock()
	if held {
		s.srv.holdExpired.Add(1)
		s.end(errHoldExpired, nil)
	}
}

var errHoldExpired = errors.New("the connection was lost and not resumed within the hold window")

// end closes the session for good: the seat is freed, the outbox closed
// (final, if not nil, is the last frame the current transport writes), and
// a later resume is told why.
func (s *session) end(reason error, final []byte) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.hold != nil {
		s.hold.Stop()
		s.hold = nil
	}
	for id, ch := range s.acks {
		close(ch)
		delete(s.acks, id)
	}
	s.mu.Unlock()
	if m := s.member(); m != nil {
		m.Leave()
	}
	s.srv.rooms.remove(s, s.seat.Load())
	s.out.Close(final, reason)
	s.srv.forget(s, reason)
}

// attached reports whether a transport carries the session.
func (s *session) attached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link != nil
}

// handle processes one frame after the handshake.
func (s *session) handle(c *conn, msg *sessionpb.ClientMessage) error {
	s.frameMu.Lock()
	defer s.frameMu.Unlock()
	s.mu.Lock()
	current := s.link == c.link
	if current && !s.confirmed {
		s.confirmed = true // the client got the Welcome with its new token
	}
	refresh := current && c.now.Sub(s.issuedAt) > s.srv.cfg.TokenTTL/2
	var tok []byte
	var exp time.Time
	if refresh {
		tok, exp = s.issueLocked()
	}
	s.mu.Unlock()
	if !current {
		// A frame from a connection the session has moved away from.
		c.link.Close(nil, outbox.ErrReplaced)
		return outbox.ErrReplaced
	}
	if refresh {
		if err := s.push(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Token{Token: &sessionpb.Token{
			ResumeToken: tok, ExpiresMs: uint64(exp.UnixMilli())}}}); err != nil {
			return err
		}
	}
	if a := msg.GetAckSeq(); a > s.ackSeen {
		s.ackSeen = a // most frames repeat the last ack: spare the outbox its lock
		s.out.Ack(a)
	}
	if seq := msg.GetSeq(); seq != 0 {
		if s.seqGap && seq > s.clientSeq {
			// The first reliable frame after a restore from a checkpoint:
			// the crashed server processed those before it.
			s.seqGap = false
			s.mu.Lock()
			s.clientSeq = seq - 1
			s.mu.Unlock()
		}
		switch {
		case seq <= s.clientSeq:
			return nil // already processed before a resume; its reply is in the log
		case seq != s.clientSeq+1 && c.lim.dropped > 0:
			// The missing frame was dropped for a rate.
			return c.fatal(errRateLimitedFrames)
		case seq != s.clientSeq+1:
			return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "seq %d after %d: reliable frames must be consecutive", seq, s.clientSeq))
		}
		s.mu.Lock()
		s.clientSeq = seq
		s.mu.Unlock()
		if err := s.dispatch(c, msg); err != nil {
			return err
		}
		if s.clientSeq-s.ackedOut >= ackEvery {
			s.ackedOut = s.clientSeq
			c.link.Send(netcode.Marshal(&sessionpb.ServerMessage{AckSeq: s.clientSeq, Body: &sessionpb.ServerMessage_Ack{Ack: &sessionpb.Ack{}}}))
		}
		return nil
	}
	return s.dispatch(c, msg)
}

// ackEvery is how many reliable client frames the server processes before
// it acknowledges them with an Ack frame (heartbeats acknowledge too).
const ackEvery = 8

func (s *session) dispatch(c *conn, msg *sessionpb.ClientMessage) error {
	rid := msg.RequestId
	switch msg.Body.(type) {
	case *sessionpb.ClientMessage_ListRooms, *sessionpb.ClientMessage_CreateRoom, *sessionpb.ClientMessage_JoinRoom, *sessionpb.ClientMessage_LeaveRoom:
		// Lobby requests spend the lobby budgets before any work.
		if e := s.admitLobby(c.now); e != nil {
			return s.refuse(c, rid, e)
		}
	}
	switch b := msg.Body.(type) {
	case *sessionpb.ClientMessage_Inputs:
		return s.submit(c, b.Inputs)
	case *sessionpb.ClientMessage_Ack:
		return nil
	case *sessionpb.ClientMessage_Heartbeat:
		c.heartbeatAnswered(b.Heartbeat.GetTime())
		return nil
	case *sessionpb.ClientMessage_Bye:
		s.srv.log.Debug("session ended by the client", "session", s.id.String())
		s.end(errBye, nil)
		return errBye
	case *sessionpb.ClientMessage_Ping:
		return s.reply(c, &sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_Pong{Pong: &sessionpb.Pong{Time: b.Ping.GetTime()}}})
	case *sessionpb.ClientMessage_ListRooms:
		return s.pushFrame(s.srv.roomListFrame(rid), outbox.Keep)
	case *sessionpb.ClientMessage_CreateRoom:
		capacity := b.CreateRoom.GetCapacity()
		if capacity > uint32(s.srv.cfg.MaxRoomSize) {
			return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_BAD_REQUEST, "capacity %d above the server's limit of %d", capacity, s.srv.cfg.MaxRoomSize))
		}
		r, err := s.srv.lobby.CreateFor(s.ip, b.CreateRoom.GetGame(), int(capacity))
		if err != nil {
			return s.refuse(c, rid, s.srv.wireError(err))
		}
		return s.reply(c, &sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_RoomCreated{RoomCreated: &sessionpb.RoomCreated{Room: r.Info().Proto()}}})
	case *sessionpb.ClientMessage_JoinRoom:
		return s.join(c, rid, b.JoinRoom)
	case *sessionpb.ClientMessage_LeaveRoom:
		st, m := s.seat.Load(), s.member()
		if m == nil {
			return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_NOT_IN_ROOM, "not in a room"))
		}
		s.seat.Store(nil)
		s.srv.rooms.remove(s, st)
		m.LeaveWithReply(rid)
		return nil
	case *sessionpb.ClientMessage_Event:
		ok, cut := s.lim.events.Take(c.now, 1)
		if cut {
			return c.fatal(errRateLimitedEvents)
		}
		if !ok {
			return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many events; slow down"))
		}
		if m := s.member(); m != nil && m.Room().Handles(b.Event.GetName()) {
			// The room's game (or its chat) handles it on the room
			// goroutine, and answers on the session's outbox.
			if err := m.Event(b.Event.GetName(), b.Event.GetPayload(), rid); err != nil {
				return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_EVENT_FAILED, "%s: %v", b.Event.GetName(), err))
			}
			s.srv.eventsIn.Add(1)
			return nil
		}
		if !s.admitEventAddr(c.now) {
			return s.refuse(c, rid, errOverEventsAddr)
		}
		return s.srv.events.dispatch(c, s, rid, b.Event)
	case *sessionpb.ClientMessage_EventAck:
		s.srv.events.answered(s, b.EventAck)
		return nil
	}
	return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_MESSAGE, "unknown message type"))
}

var errBye = errors.New("the client said goodbye")

func (s *session) join(c *conn, rid uint32, j *sessionpb.JoinRoom) error {
	if s.member() != nil {
		return s.refuse(c, rid, netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ALREADY_IN_ROOM, "already in a room; leave first"))
	}
	st := &seat{}
	req := room.JoinRequest{
		Name: s.name, Spectate: j.GetSpectate(), RequestID: rid, Out: s.out,
		OnRemoved: func(error) {
			st.gone.Store(true)
			s.srv.rooms.remove(s, st)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.JoinTimeout)
	defer cancel()
	m, redirect, err := s.place(ctx, j, req)
	if err != nil {
		return s.refuse(c, rid, s.srv.wireError(err))
	}
	if redirect != nil {
		return s.reply(c, &sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_Redirect{Redirect: redirect}})
	}
	st.m = m
	s.seat.Store(st)
	s.srv.rooms.add(m.Room().ID(), s, st)
	return nil
}

// submit hands a batch of inputs to the room and records the ack. Each
// input is checked in the game's terms before the room sees it: one with
// values out of range is dropped (past Limits.BadInputs the connection is
// closed), a new one past the session's input rate is refused (refusals
// that go on close the connection); the room refuses stale, duplicate and
// far-future sequence numbers. Every refusal is counted by reason and the
// world never sees it; the rest of the batch still counts.
func (s *session) submit(c *conn, b *sessionpb.InputBatch) error {
	if len(b.Inputs) > maxInputsPerBatch {
		return c.fatal(netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "inputs: %d in one batch, at most %d", len(b.Inputs), maxInputsPerBatch))
	}
	m := s.member()
	if m == nil {
		s.srv.cfg.Metrics.InputRejected(metrics.InputNotInRoom, len(b.Inputs))
		return nil // inputs racing a leave or a room closing: nothing to apply them to
	}
	if t := b.GetAckTick(); t != 0 && (t != s.ackedTick || m != s.ackedBy) {
		s.ackedTick, s.ackedBy = t, m // inputs outnumber snapshots two to one: ack each tick once
		m.Ack(t)
	}
	if len(b.Inputs) == 0 {
		return nil
	}
	def := m.Room().Game()
	limit := def.InputLimit()
	now := c.now
	first := b.GetFirstSeq()
	last := len(b.Inputs) - 1
	var v room.Verdict
	var bad, limited int
	var fatal *netcode.Error
	run := first // sequence number of s.inputs[0]
	flush := func(next uint32) {
		if len(s.inputs) > 0 {
			v.Add(m.Submit(run, s.inputs))
		}
		s.inputs = s.inputs[:0]
		run = next
	}
	for i, data := range b.Inputs {
		seq := first + uint32(i)
		if seq <= s.lim.inputHigh && seq != 0 {
			// A resend of an input already handed to the room (clients
			// repeat their unacknowledged inputs): nothing to do.
			flush(seq + 1)
			continue
		}
		if len(data) > limit || (def.CheckInput != nil && def.CheckInput(data) != nil) {
			bad++
			flush(seq + 1)
			if _, cut := s.lim.bad.Take(now, 1); cut {
				fatal = errBadInputs
			}
			continue
		}
		if seq > s.lim.inputHigh {
			// A new input (resends are free): it costs a token.
			s.lim.inputHigh = seq
			ok, cut := s.lim.inputs.Take(now, 1)
			if cut {
				fatal = errRateLimitedInputs
			}
			if !ok {
				limited++
				flush(seq + 1)
				continue
			}
		}
		s.inputs = append(s.inputs, game.Input{Data: data, ViewTick: viewTick(b.GetViewTick(), last-i)})
	}
	flush(0)
	met := s.srv.cfg.Metrics
	if bad > 0 {
		s.srv.rejectedInputs.Add(uint64(bad))
		met.InputRejected(metrics.InputOutOfRange, bad)
	}
	met.InputRejected(metrics.InputRateLimited, limited)
	met.InputRejected(metrics.InputStale, v.Stale)
	met.InputRejected(metrics.InputDuplicate, v.Duplicate)
	met.InputRejected(metrics.InputFarFuture, v.FarFuture)
	if fatal != nil {
		return c.fatal(fatal)
	}
	return nil
}

// viewTick is the view tick of the input back places before the newest of
// a batch whose newest was made at newest: one tick earlier per place (a
// client sends one input per tick). 0 stays 0 (unknown); the sim bounds
// how far a shot may rewind, whatever the client claims.
func viewTick(newest uint32, back int) uint32 {
	if newest <= uint32(back) {
		return 0
	}
	return newest - uint32(back)
}

// push queues a reliable frame (kept until acknowledged); a full log ends
// the session.
func (s *session) push(m *sessionpb.ServerMessage) error {
	return s.pushFrame(netcode.Marshal(m), outbox.Keep)
}

// pushFrame queues an encoded reliable frame (the outbox copies it) with
// policy p; a full log ends the session. Events go with outbox.Bounded: a
// held session keeps the newest of them, never ends for them.
func (s *session) pushFrame(frame []byte, p outbox.Policy) error {
	err := s.out.PushPolicy(frame, p)
	if errors.Is(err, outbox.ErrClosed) {
		return ErrSessionEnded
	}
	if errors.Is(err, outbox.ErrFull) {
		e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "too many unacknowledged messages")
		s.srv.protocolErrors.Add(1)
		s.end(e, e.Frame(0))
		return e
	}
	return nil
}

// reply queues a reply for the client.
func (s *session) reply(_ *conn, m *sessionpb.ServerMessage) error { return s.push(m) }

// refuse answers a request with a non-fatal error.
func (s *session) refuse(c *conn, rid uint32, e *netcode.Error) error {
	if e.Fatal {
		return c.fatal(e)
	}
	return s.push(&sessionpb.ServerMessage{RequestId: rid, Body: &sessionpb.ServerMessage_Error{Error: &sessionpb.Error{
		Code: e.Code, Message: e.Message}}})
}

// wireError maps lobby and room errors to the wire, in one place (and
// counts what a budget refused).
func (srv *Server) wireError(err error) *netcode.Error {
	switch {
	case errors.Is(err, lobby.ErrOwnerRooms):
		srv.cfg.Metrics.BudgetRefused(metrics.BudgetRoomsPerAddress)
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET, "this address has as many rooms open as one address may; join one, or wait for one to close")
	case errors.Is(err, lobby.ErrNotFound):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, "no such room")
	case errors.Is(err, room.ErrFull):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_ROOM_FULL, "room is full")
	case errors.Is(err, lobby.ErrTooManyRooms):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_SERVER_FULL, "server hosts as many rooms as it allows")
	case errors.Is(err, lobby.ErrClosed):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "server is shutting down")
	case errors.Is(err, room.ErrConfig), errors.Is(err, room.ErrRefused):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_BAD_REQUEST, "%v", err)
	case errors.Is(err, lobby.ErrUnknownGame):
		return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_UNKNOWN_GAME, "%v", err)
	}
	if e := fleetError(err); e != nil {
		return e
	}
	return netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
}

// describe turns an end reason into the text a later resume is told.
func describe(reason error, hold time.Duration) string {
	switch {
	case reason == nil:
		return "closed"
	case errors.Is(reason, errHoldExpired):
		return fmt.Sprintf("the connection was lost and not resumed within %v", hold)
	}
	return reason.Error()
}

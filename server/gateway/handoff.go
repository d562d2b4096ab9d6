package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/room"
	"github.com/arenaserver/arena/server/token"
)

// Mover hands a room, with its sessions, to another server of the fleet
// (fleet.Node implements it). Safe for concurrent use.
type Mover interface {
	// Hand gives bundle (at most Config.HandoffBytes) to another server,
	// which adopts it (Server.Adopt), and returns that server's public
	// WebSocket URL; it fails when no server took it before ctx ended.
	Hand(ctx context.Context, roomID string, bundle []byte) (addr string, err error)
}

var (
	// ErrNotMovable means a room stays (the drain of a lone server): a
	// member's client does not follow moves (Hello.follows_moves), or a
	// member has no session here.
	ErrNotMovable = errors.New("gateway: room not movable")
	// ErrBundle means a hand-off bundle does not decode, or is too big.
	ErrBundle = errors.New("gateway: malformed hand-off bundle")
	// ErrAdopted means a session of the bundle lives here already.
	ErrAdopted = errors.New("gateway: a session of the bundle is here already")
)

// MoveStats count hand-offs.
type MoveStats struct {
	RoomsOut, RoomsIn       uint64 // rooms handed to another server, adopted from one
	SessionsOut, SessionsIn uint64 // their sessions
	RoomsRestored           uint64 // rooms restored here from a crashed server's checkpoints
	SessionsRestored        uint64 // their sessions
	Failed                  uint64 // hand-offs that failed (the room stayed)
	NotMovable              uint64 // rooms that stayed because a client does not follow moves
}

// MoveRooms hands every room of this server that has members to other
// servers of the fleet, a few at a time, and returns how many moved; the
// rest stay and drain as on a lone server. Without Config.Mover it moves
// nothing. For a drain: the lobby should already refuse new players.
func (s *Server) MoveRooms(ctx context.Context) (moved, stayed int) {
	if s.cfg.Mover == nil {
		return 0, len(s.lobby.Rooms())
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, r := range s.lobby.Rooms() {
		info := r.Info()
		if info.Players+info.Spectators == 0 {
			continue // the drain closes empty rooms
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := s.moveRoom(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				stayed++
				s.log.Info("room stays on this server", "room", r.ID(), "err", err)
				return
			}
			moved++
		})
	}
	wg.Wait()
	// The clients must read their Move before the server goes: wait until
	// every moved session's connection wrote it and closed (bounded).
	flushed := make(chan struct{})
	go func() { s.movingLinks.Wait(); close(flushed) }()
	t := time.NewTimer(s.cfg.HandoffTimeout)
	defer t.Stop()
	select {
	case <-flushed:
	case <-t.C:
		s.log.Warn("moved sessions' connections still writing their Move; going on", "left", s.moving.Load())
	case <-ctx.Done():
	}
	return moved, stayed
}

// moveRoom freezes r, hands it with its sessions to another server and
// sends each client there (Move); on failure r thaws and ticks on here.
// While it runs the sessions' frames wait (frameMu), so nothing a client
// sends is processed on both servers, or on neither.
func (s *Server) moveRoom(ctx context.Context, r *room.Room) error {
	sessions := s.rooms.members(r.ID(), nil)
	for _, p := range sessions {
		if !p.moves {
			s.moveStats(func(m *MoveStats) { m.NotMovable++ })
			return fmt.Errorf("%w: a client does not follow moves", ErrNotMovable)
		}
	}
	slices.SortFunc(sessions, func(a, b *session) int { return bytes.Compare(a.id[:], b.id[:]) })
	for _, p := range sessions {
		p.frameMu.Lock()
		defer p.frameMu.Unlock()
	}
	start := time.Now()
	f, err := r.Freeze(ctx)
	if err != nil {
		return err
	}
	bySeat := make(map[*room.Member]*session, len(sessions))
	for _, p := range sessions {
		if m := p.member(); m != nil {
			bySeat[m] = p
		}
	}
	order := make([]*session, len(f.Members))
	for i, m := range f.Members {
		if order[i] = bySeat[m]; order[i] == nil {
			f.Thaw()
			s.moveStats(func(m *MoveStats) { m.NotMovable++ })
			return fmt.Errorf("%w: member %d has no session here", ErrNotMovable, m.PlayerID())
		}
	}
	bundle := encodeBundle(r.ID(), r.Game().Name, f.Saved, order)
	if max := s.cfg.HandoffBytes; len(bundle) > max {
		f.Thaw()
		s.moveStats(func(m *MoveStats) { m.Failed++ })
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBundle, len(bundle), max)
	}
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HandoffTimeout)
	addr, err := s.cfg.Mover.Hand(hctx, r.ID(), bundle)
	cancel()
	if err != nil {
		f.Thaw()
		s.moveStats(func(m *MoveStats) { m.Failed++ })
		return err
	}
	f.Release()
	<-r.Done()
	frame := moveFrame(addr, r.ID(), f.Tick)
	for _, p := range order {
		p.mu.Lock()
		p.movedTo, p.movedRoom, p.movedTick = addr, r.ID(), f.Tick
		if p.link != nil {
			s.moving.Add(1)
			l := p.link
			s.movingLinks.Go(func() {
				defer s.moving.Add(-1)
				<-l.Done() // its writer wrote the Move and closed it
			})
		}
		p.mu.Unlock()
		p.end(errMovedAway, frame)
	}
	s.moveStats(func(m *MoveStats) { m.RoomsOut++; m.SessionsOut += uint64(len(order)) })
	s.log.Info("room moved", "room", r.ID(), "to", addr, "tick", f.Tick, "sessions", len(order),
		"bytes", len(bundle), "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// errMovedAway ends a session here that another server took over: its
// connection closes as going away (1001) after the Move frame.
var errMovedAway = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "session moved to another server")

func moveFrame(addr, roomID string, tick uint32) []byte {
	return netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Move{Move: &sessionpb.Move{
		Address: addr, RoomId: roomID, Tick: tick}}})
}

func (s *Server) moveStats(f func(*MoveStats)) {
	s.movesMu.Lock()
	f(&s.moves)
	s.movesMu.Unlock()
}

// Moves returns the hand-off counters.
func (s *Server) Moves() MoveStats {
	s.movesMu.Lock()
	defer s.movesMu.Unlock()
	return s.moves
}

// A bundle is a room and its sessions, in one versioned byte string:
//
//	"AHB" version room-id game saved-room n sessions
//
// each session: member index, id (16 bytes), name, address, flags
// (follows redirects), token generations (next, min, last used,
// confirmed), the last client seq processed, and its outbox (last seq,
// then each frame: seq, policy, body). Strings and byte strings are
// uvarint-length-prefixed, numbers uvarints.
const bundleVersion = 1

var bundleMagic = []byte("AHB")

func encodeBundle(roomID, gameName string, saved []byte, order []*session) []byte {
	w := bw{buf: append(append([]byte(nil), bundleMagic...), bundleVersion)}
	w.str(roomID)
	w.str(gameName)
	w.bytes(saved)
	w.u(uint64(len(order)))
	for i, p := range order {
		w.u(uint64(i))
		w.buf = append(w.buf, p.id[:]...)
		w.str(p.name)
		w.str(p.ip)
		w.flag(p.redirects)
		p.mu.Lock()
		w.u(uint64(p.nextGen))
		w.u(uint64(p.minGen))
		w.u(uint64(p.lastUsed))
		w.flag(p.confirmed)
		p.mu.Unlock()
		w.u(uint64(p.clientSeq))
		st := p.out.Export()
		w.u(uint64(st.Seq))
		w.u(uint64(len(st.Frames)))
		for _, fr := range st.Frames {
			w.u(uint64(fr.Seq))
			w.u(uint64(fr.Policy))
			w.bytes(fr.Body)
		}
	}
	return w.buf
}

// Adopt restores a room handed over by another server (Mover.Hand on
// that side), with its sessions: each is held here with its seat,
// sequence numbers, unacknowledged frames and token chain, until its
// client resumes (Hello with its token; Welcome.moved). It fails without
// a trace when the bundle does not decode, a session is here already, or
// the lobby refuses the room.
func (s *Server) Adopt(bundle []byte) error { return s.adopt(bundle, false) }

// Restore is Adopt for a checkpoint of a server that crashed (its
// heartbeat lapsed): the room goes on from the checkpoint's tick, and each
// session, when its client resumes here, skips over what it cannot have:
// the server frames it got and the client frames the crashed server
// processed after the checkpoint (at most one checkpoint interval of play
// is lost, and nothing is applied twice).
func (s *Server) Restore(bundle []byte) error { return s.adopt(bundle, true) }

func (s *Server) adopt(bundle []byte, crashed bool) error {
	rd := br{buf: bundle}
	if !rd.prefix(bundleMagic) || rd.u() != bundleVersion {
		return ErrBundle
	}
	roomID, gameName, saved := rd.str(), rd.str(), rd.bytes()
	n := rd.count(24)
	ps := make([]*session, 0, n)
	lim := outbox.Limits{Frames: s.cfg.ReliableQueue, Bytes: s.cfg.ReliableBytes, Held: s.cfg.HeldEvents}
	for i := range n {
		if rd.u() != uint64(i) {
			return ErrBundle
		}
		var id token.SessionID
		copy(id[:], rd.take(len(id)))
		p := &session{srv: s, id: id, name: rd.str(), ip: rd.str(), moves: true, lim: newSessionLimits(&s.cfg.Limits)}
		p.redirects = rd.flag()
		p.nextGen, p.minGen, p.lastUsed = uint32(rd.u()), uint32(rd.u()), uint32(rd.u())
		p.confirmed = rd.flag()
		p.clientSeq = uint32(rd.u())
		p.ackedOut = p.clientSeq
		st := outbox.State{Seq: uint32(rd.u())}
		for range rd.count(3) {
			st.Frames = append(st.Frames, outbox.Frame{Seq: uint32(rd.u()), Policy: outbox.Policy(rd.u()), Body: rd.bytes()})
		}
		if rd.err {
			return ErrBundle
		}
		var err error
		if p.out, err = outbox.Import(lim, st); err != nil {
			return fmt.Errorf("%w: %v", ErrBundle, err)
		}
		p.display.Store(&p.name)
		p.inputs = p.inputsBuf[:0]
		ps = append(ps, p)
	}
	if rd.err || len(rd.buf) != 0 {
		return ErrBundle
	}
	seats := make([]*seat, len(ps))
	for i := range seats {
		seats[i] = &seat{}
	}
	wired := 0
	r, err := s.lobby.Adopt(roomID, gameName, saved, func(i int, m *room.Member) room.Wiring {
		wired++
		if i >= len(ps) {
			return room.Wiring{}
		}
		p, st := ps[i], seats[i]
		st.m = m
		return room.Wiring{Out: p.out, OnRemoved: func(error) {
			st.gone.Store(true)
			s.rooms.remove(p, st)
		}}
	})
	if err != nil {
		return err
	}
	if wired != len(ps) || slices.ContainsFunc(seats, func(st *seat) bool { return st.m == nil }) {
		r.Close(room.ErrShutdown)
		return fmt.Errorf("%w: sessions and members differ", ErrBundle)
	}
	s.mu.Lock()
	if s.closed || slices.ContainsFunc(ps, func(p *session) bool { return s.sessions[p.id] != nil }) {
		s.mu.Unlock()
		r.Close(room.ErrShutdown)
		return ErrAdopted
	}
	now := time.Now()
	for i, p := range ps {
		if crashed {
			seats[i].m.Resync()
			p.restored = true
		}
		p.lim.inputHigh = seats[i].m.InputHigh()
		p.seat.Store(seats[i])
		p.movedIn = true
		p.heldSince = now
		p.hold = time.AfterFunc(s.cfg.Hold, p.expire)
		s.budget.adoptSession(p.ip)
		s.sessions[p.id] = p
	}
	s.mu.Unlock()
	for i, p := range ps {
		s.rooms.add(roomID, p, seats[i])
	}
	tick := r.Info().Tick
	if l := s.cfg.Locator; l != nil {
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.id.String()
		}
		l.HoldSessions(ids, roomID, tick, s.cfg.Hold)
	}
	s.moveStats(func(m *MoveStats) {
		if crashed {
			m.RoomsRestored++
			m.SessionsRestored += uint64(len(ps))
		} else {
			m.RoomsIn++
			m.SessionsIn += uint64(len(ps))
		}
	})
	s.log.Info("room adopted", "room", roomID, "game", gameName, "tick", tick, "sessions", len(ps), "from_checkpoint", crashed)
	return nil
}

// Locator finds the server of the fleet that holds a session it adopted or
// restored (fleet.Node implements it). Safe for concurrent use.
type Locator interface {
	// HoldSessions records that this server holds the sessions ids, in
	// room roomID taken over at tick, for ttl.
	HoldSessions(ids []string, roomID string, tick uint32, ttl time.Duration)
	// Locate returns the public address of the server that holds session
	// id, its room and the tick it was taken over at; "" when none does.
	Locate(ctx context.Context, id string) (addr, roomID string, tick uint32, err error)
	// Peers are the public addresses of the other live servers, for
	// Welcome.peers.
	Peers() []string
}

// CheckpointBundles saves every room of this server that has members,
// with its sessions, as bundles (room id to bundle) for crash recovery
// (Restore on another server). Each room pauses between two ticks while
// it is saved and its sessions' unacknowledged frames are copied. A room
// whose members are not all indexed with a session yet is left out until
// the next checkpoint.
func (s *Server) CheckpointBundles(ctx context.Context) map[string][]byte {
	out := map[string][]byte{}
	for _, r := range s.lobby.Rooms() {
		info := r.Info()
		if info.Players+info.Spectators == 0 {
			continue
		}
		sessions := s.rooms.members(r.ID(), nil)
		bySeat := make(map[*room.Member]*session, len(sessions))
		for _, p := range sessions {
			if m := p.member(); m != nil {
				bySeat[m] = p
			}
		}
		var bundle []byte
		err := r.Checkpoint(ctx, func(saved []byte, _ uint32, members []*room.Member) {
			order := make([]*session, len(members))
			for i, m := range members {
				if order[i] = bySeat[m]; order[i] == nil {
					return
				}
			}
			bundle = encodeBundle(r.ID(), r.Game().Name, saved, order)
		})
		if err == nil && bundle != nil && len(bundle) <= s.cfg.HandoffBytes {
			out[r.ID()] = bundle
		}
	}
	return out
}

type bw struct{ buf []byte }

func (w *bw) u(v uint64)     { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *bw) str(s string)   { w.u(uint64(len(s))); w.buf = append(w.buf, s...) }
func (w *bw) bytes(b []byte) { w.u(uint64(len(b))); w.buf = append(w.buf, b...) }
func (w *bw) flag(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// br reads what bw wrote; after the first error every read gives zero
// values and err stays set.
type br struct {
	buf []byte
	err bool
}

func (r *br) fail() { r.err, r.buf = true, nil }

func (r *br) prefix(p []byte) bool {
	if !bytes.HasPrefix(r.buf, p) {
		r.fail()
		return false
	}
	r.buf = r.buf[len(p):]
	return true
}

func (r *br) u() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *br) take(n int) []byte {
	if r.err || n > len(r.buf) {
		r.fail()
		return make([]byte, n)
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *br) bytes() []byte {
	n := r.u()
	if r.err || n > uint64(len(r.buf)) {
		r.fail()
		return nil
	}
	return r.take(int(n))
}

func (r *br) str() string { return string(r.bytes()) }

func (r *br) flag() bool {
	b := r.take(1)
	if r.err || b[0] > 1 {
		r.fail()
		return false
	}
	return b[0] == 1
}

// count reads an element count that could fit in what is left, each
// element taking at least min bytes.
func (r *br) count(min int) int {
	v := r.u()
	if v > uint64(len(r.buf)/min) {
		r.fail()
		return 0
	}
	return int(v)
}

// peers lists the other servers of the fleet for Welcome (nil alone).
func (s *Server) peers() []string {
	if s.cfg.Locator == nil {
		return nil
	}
	return s.cfg.Locator.Peers()
}

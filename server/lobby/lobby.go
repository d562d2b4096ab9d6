// Package lobby keeps the rooms of one server: it lists them, creates them,
// seats players by room id or by quick join, and forgets rooms when they
// close.
//
// lobby imports the room package; it knows nothing of transports.
package lobby

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/arenaserver/arena/server/room"
)

var (
	// ErrNotFound means no open room has the requested id.
	ErrNotFound = errors.New("lobby: room not found")
	// ErrTooManyRooms means the server hosts MaxRooms rooms already.
	ErrTooManyRooms = errors.New("lobby: too many rooms")
	// ErrClosed means the lobby is shutting down and takes no one.
	ErrClosed = errors.New("lobby: closed")
	// ErrOwnerRooms means the owner asking for a new room (a client's
	// address) has MaxRoomsPerOwner rooms open already.
	ErrOwnerRooms = errors.New("lobby: too many open rooms for this owner")
)

// Config is the lobby's settings; zero fields take defaults.
type Config struct {
	// Room is the template for every room; CreateRoom may change Capacity.
	Room room.Config
	// MaxRooms bounds the rooms this server hosts. Default 1000.
	MaxRooms int
	// MaxRoomsPerOwner bounds the open rooms one owner (the gateway passes
	// the client's address) has created, by CreateFor or by a quick join
	// that opened one; a room counts until it closes. -1 means no bound.
	// Rooms without an owner ("") never count. Default 4.
	MaxRoomsPerOwner int
	// Logger receives lifecycle logs; nil means slog.Default().
	Logger *slog.Logger
}

// Lobby is safe for concurrent use.
type Lobby struct {
	cfg Config
	log *slog.Logger

	gen atomic.Uint64 // rooms opened and closed so far (Generation)

	mu     sync.Mutex // guards rooms, owner, owned and closed
	rooms  map[string]*room.Room
	owner  map[string]string // room id -> who created it, for rooms with an owner
	owned  map[string]int    // owner -> open rooms it created
	closed bool
}

// New returns an empty lobby. It checks the room template once so that
// room creation cannot fail on configuration later.
func New(cfg Config) (*Lobby, error) {
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = 1000
	}
	if cfg.MaxRoomsPerOwner == 0 {
		cfg.MaxRoomsPerOwner = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Room.Logger == nil {
		cfg.Room.Logger = cfg.Logger
	}
	probe := cfg.Room
	probe.Fill()
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	return &Lobby{cfg: cfg, log: cfg.Logger, rooms: map[string]*room.Room{}, owner: map[string]string{}, owned: map[string]int{}}, nil
}

// List returns every open room's info, sorted by id.
func (l *Lobby) List() []room.Info {
	l.mu.Lock()
	infos := make([]room.Info, 0, len(l.rooms))
	for _, r := range l.rooms {
		infos = append(infos, r.Info())
	}
	l.mu.Unlock()
	slices.SortFunc(infos, func(a, b room.Info) int { return cmp.Compare(a.ID, b.ID) })
	return infos
}

// Rooms returns the open rooms.
func (l *Lobby) Rooms() []*room.Room {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := make([]*room.Room, 0, len(l.rooms))
	for _, r := range l.rooms {
		rs = append(rs, r)
	}
	return rs
}

// Create opens a room with capacity seats (0: the default), owned by no
// one.
func (l *Lobby) Create(capacity int) (*room.Room, error) { return l.CreateFor("", capacity) }

// CreateFor opens a room with capacity seats (0: the default) for owner,
// who must have fewer than MaxRoomsPerOwner rooms open (ErrOwnerRooms).
func (l *Lobby) CreateFor(owner string, capacity int) (*room.Room, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.createLocked(owner, capacity)
}

func (l *Lobby) createLocked(owner string, capacity int) (*room.Room, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if err := l.ownerMayOpenLocked(owner); err != nil {
		return nil, err
	}
	if len(l.rooms) >= l.cfg.MaxRooms {
		return nil, ErrTooManyRooms
	}
	id := newID()
	for l.rooms[id] != nil {
		id = newID()
	}
	return l.openLocked(owner, id, capacity)
}

// ownerMayOpenLocked says whether owner may open one more room; l.mu is
// held.
func (l *Lobby) ownerMayOpenLocked(owner string) error {
	if owner != "" && l.cfg.MaxRoomsPerOwner > 0 && l.owned[owner] >= l.cfg.MaxRoomsPerOwner {
		return ErrOwnerRooms
	}
	return nil
}

// openLocked starts room id for owner ("" for none); l.mu is held, the
// lobby is open and has room.
func (l *Lobby) openLocked(owner, id string, capacity int) (*room.Room, error) {
	cfg := l.cfg.Room
	if capacity != 0 {
		cfg.Capacity = capacity
	}
	r, err := room.New(id, cfg, l.forget)
	if err != nil {
		return nil, err
	}
	l.rooms[id] = r
	l.gen.Add(1)
	if owner != "" {
		l.owner[id] = owner
		l.owned[owner]++
	}
	return r, nil
}

func (l *Lobby) forget(r *room.Room) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rooms[r.ID()] != r {
		return
	}
	delete(l.rooms, r.ID())
	l.gen.Add(1)
	if owner, ok := l.owner[r.ID()]; ok {
		delete(l.owner, r.ID())
		if l.owned[owner]--; l.owned[owner] <= 0 {
			delete(l.owned, owner)
		}
	}
}

// Generation changes whenever a room opens or closes: a copy of List
// taken at the same generation lists the same rooms (their player counts
// may have changed).
func (l *Lobby) Generation() uint64 { return l.gen.Load() }

// Owned is how many open rooms owner created.
func (l *Lobby) Owned(owner string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owned[owner]
}

// Room returns the open room with id, or nil.
func (l *Lobby) Room(id string) *room.Room {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rooms[id]
}

// Join seats req in the room with id.
func (l *Lobby) Join(ctx context.Context, id string, req room.JoinRequest) (*room.Member, error) {
	l.mu.Lock()
	r, closed := l.rooms[id], l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if r == nil {
		return nil, ErrNotFound
	}
	m, err := r.Join(ctx, req)
	if errors.Is(err, room.ErrClosed) {
		return nil, ErrNotFound
	}
	return m, err
}

// QuickJoin seats req in the fullest open room with a free seat, or in a new
// room when none has one. It retries when a room fills or closes under it. A
// spectator quick join picks the fullest room with players and fails with
// ErrNotFound when there is none.
func (l *Lobby) QuickJoin(ctx context.Context, req room.JoinRequest) (*room.Member, error) {
	return l.QuickJoinFor(ctx, "", req)
}

// QuickJoinFor is QuickJoin where a room it opens is owner's (see
// CreateFor).
func (l *Lobby) QuickJoinFor(ctx context.Context, owner string, req room.JoinRequest) (*room.Member, error) {
	for range 8 {
		r, err := l.pick(owner, req.Spectate)
		if err != nil {
			return nil, err
		}
		m, err := r.Join(ctx, req)
		if errors.Is(err, room.ErrFull) || errors.Is(err, room.ErrClosed) {
			continue
		}
		return m, err
	}
	return nil, fmt.Errorf("lobby: quick join found no seat after 8 tries: %w", room.ErrFull)
}

// pick chooses the fullest room with space, creating one for owner when
// there is none.
func (l *Lobby) pick(owner string, spectate bool) (*room.Room, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	var best *room.Room
	bestPlayers := -1
	for _, r := range l.rooms {
		info := r.Info()
		free := info.Players < info.Capacity
		if spectate {
			free = info.Spectators < info.Capacity && info.Players > 0
		}
		if !free {
			continue
		}
		if info.Players > bestPlayers || (info.Players == bestPlayers && r.ID() < best.ID()) {
			best, bestPlayers = r, info.Players
		}
	}
	if best != nil {
		return best, nil
	}
	if spectate {
		return nil, ErrNotFound // nothing to watch; an empty room would not help
	}
	return l.createLocked(owner, 0)
}

// Close stops taking players, closes every room with reason and waits for
// them to finish (or ctx to end).
func (l *Lobby) Close(ctx context.Context, reason error) error {
	l.mu.Lock()
	l.closed = true
	rooms := make([]*room.Room, 0, len(l.rooms))
	for _, r := range l.rooms {
		rooms = append(rooms, r)
	}
	l.mu.Unlock()
	for _, r := range rooms {
		r.Close(reason)
	}
	for _, r := range rooms {
		select {
		case <-r.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "r" + hex.EncodeToString(b[:])
}

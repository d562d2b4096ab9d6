// Package lobby keeps the rooms of one server: it lists them, creates them
// (of any game the server hosts), seats players by room id or by quick join,
// forgets rooms when they close, and remembers how recent matches ended.
//
// lobby imports the room package and the game API; it knows nothing of
// transports, and of games only their registry.
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
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/server/room"
)

var (
	// ErrNotFound means no open room has the requested id.
	ErrNotFound = errors.New("lobby: room not found")
	// ErrTooManyRooms means the server hosts MaxRooms rooms already.
	ErrTooManyRooms = errors.New("lobby: too many rooms")
	// ErrClosed means the lobby is shutting down and takes no one.
	ErrClosed = errors.New("lobby: closed")
	// ErrUnknownGame means a request named a game this server does not host.
	ErrUnknownGame = errors.New("lobby: no such game here")
	// ErrOwnerRooms means the owner asking for a new room (a client's
	// address) has MaxRoomsPerOwner rooms open already.
	ErrOwnerRooms = errors.New("lobby: too many open rooms for this owner")
)

// Config is the lobby's settings; zero fields take defaults.
type Config struct {
	// Room is the template for every room; CreateRoom may change Capacity,
	// and each room plays its own game. A zero Capacity gives each game's
	// rooms its Def.Seats (or the room default).
	Room room.Config
	// Games are the games this server hosts; the first is the default (a
	// request naming no game gets it). Required.
	Games []*game.Def
	// Params are the operator's settings per game name.
	Params map[string]map[string]string
	// Results bounds the recent match results kept. Default 32.
	Results int
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

	mu      sync.Mutex // guards rooms, owner, owned, closed and results
	rooms   map[string]*room.Room
	owner   map[string]string // room id -> who created it, for rooms with an owner
	owned   map[string]int    // owner -> open rooms it created
	closed  bool
	results []Result // newest last, at most cfg.Results
}

// Result is how one match ended.
type Result struct {
	Room   string
	Game   string
	Ended  time.Time
	Result game.Result
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
	if cfg.Results <= 0 {
		cfg.Results = 32
	}
	if len(cfg.Games) == 0 {
		return nil, errors.New("lobby: no games")
	}
	for _, g := range cfg.Games {
		probe := cfg.Room
		probe.Game = g
		probe.Fill()
		if err := probe.Validate(); err != nil {
			return nil, err
		}
		if err := g.CheckParams(cfg.Params[g.Name]); err != nil {
			return nil, err
		}
		// A match made once now refuses bad parameter values at start, not
		// when the first room opens.
		if _, err := g.New(game.Config{TickRate: probe.TickRate, Capacity: probe.Capacity, Seed: 1, Params: cfg.Params[g.Name]}); err != nil {
			return nil, fmt.Errorf("game %s: %w", g.Name, err)
		}
	}
	return &Lobby{cfg: cfg, log: cfg.Logger, rooms: map[string]*room.Room{}, owner: map[string]string{}, owned: map[string]int{}}, nil
}

// Games returns the names of the games this lobby hosts, the default first.
func (l *Lobby) Games() []string {
	names := make([]string, len(l.cfg.Games))
	for i, g := range l.cfg.Games {
		names[i] = g.Name
	}
	return names
}

// game returns the hosted game named name ("" for the default).
func (l *Lobby) game(name string) (*game.Def, error) {
	if name == "" {
		return l.cfg.Games[0], nil
	}
	for _, g := range l.cfg.Games {
		if g.Name == name {
			return g, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownGame, name)
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

// Create opens a room of the named game ("" for the default) with capacity
// seats (0: the default), owned by no one.
func (l *Lobby) Create(gameName string, capacity int) (*room.Room, error) {
	return l.CreateFor("", gameName, capacity)
}

// CreateFor is Create for owner, who must have fewer than
// MaxRoomsPerOwner rooms open (ErrOwnerRooms).
func (l *Lobby) CreateFor(owner, gameName string, capacity int) (*room.Room, error) {
	g, err := l.game(gameName)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.createLocked(owner, g, capacity)
}

func (l *Lobby) createLocked(owner string, g *game.Def, capacity int) (*room.Room, error) {
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
	return l.openLocked(owner, id, g, capacity)
}

// ownerMayOpenLocked says whether owner may open one more room; l.mu is
// held.
func (l *Lobby) ownerMayOpenLocked(owner string) error {
	if owner != "" && l.cfg.MaxRoomsPerOwner > 0 && l.owned[owner] >= l.cfg.MaxRoomsPerOwner {
		return ErrOwnerRooms
	}
	return nil
}

// openLocked starts room id of game g for owner ("" for none); l.mu is
// held, the lobby is open and has room.
func (l *Lobby) openLocked(owner, id string, g *game.Def, capacity int) (*room.Room, error) {
	cfg := l.cfg.Room
	cfg.Game, cfg.Params = g, l.cfg.Params[g.Name]
	if cfg.Capacity == 0 {
		cfg.Capacity = g.Seats // 0 still: the room's default
	}
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
	if res := r.Result(); res != nil {
		l.results = append(l.results, Result{Room: r.ID(), Game: r.Game().Name, Ended: time.Now(), Result: *res})
		if n := len(l.results); n > l.cfg.Results {
			l.results = slices.Delete(l.results, 0, n-l.cfg.Results)
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

// Results returns how recent matches ended, oldest first.
func (l *Lobby) Results() []Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
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

// QuickJoin seats req in the fullest open room of the named game ("" for
// the default) with a free seat, or in a new room when none has one. It
// retries when a room fills or closes under it. A spectator quick join
// picks the fullest room with players and fails with ErrNotFound when there
// is none.
func (l *Lobby) QuickJoin(ctx context.Context, gameName string, req room.JoinRequest) (*room.Member, error) {
	return l.QuickJoinFor(ctx, "", gameName, req)
}

// QuickJoinFor is QuickJoin where a room it opens is owner's (see
// CreateFor).
func (l *Lobby) QuickJoinFor(ctx context.Context, owner, gameName string, req room.JoinRequest) (*room.Member, error) {
	g, err := l.game(gameName)
	if err != nil {
		return nil, err
	}
	for range 8 {
		r, err := l.pick(owner, g, req.Spectate)
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

// pick chooses the fullest room with space, creating one when there is none.
func (l *Lobby) pick(owner string, g *game.Def, spectate bool) (*room.Room, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	var best *room.Room
	bestPlayers := -1
	for _, r := range l.rooms {
		if r.Game() != g {
			continue
		}
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
	return l.createLocked(owner, g, 0)
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

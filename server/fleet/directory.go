package fleet

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The directory in Redis (every key starts with Config.Prefix):
//
//	nodes            sorted set: node id -> expiry (Unix ms, Redis' clock)
//	node:<id>        hash: addr, mode, size, rooms, players; expires with the node
//	rooms            sorted set: room id -> expiry
//	room:<id>        hash: node, addr, mode, cap, players, open ("0" while
//	                 placed but not yet opened by its node); expires
//	pending:<id>     sorted set: reservation -> expiry; seats promised and
//	                 not yet counted in players
//	seat:<token>     string: a reservation for another node, or "used"
//	alive:<id>       string: set by every heartbeat of the node, in the
//	                 directory or draining; expires with the node
//	broadcast        pub/sub channel of fleet-wide events
//
// Scripts read the clock with TIME, so the servers' clocks do not matter.
var (
	//go:embed lua/publish.lua
	luaPublish string
	//go:embed lua/leave.lua
	luaLeave string
	//go:embed lua/place.lua
	luaPlace string
	//go:embed lua/reserve.lua
	luaReserve string
	//go:embed lua/redeem.lua
	luaRedeem string
	//go:embed lua/list.lua
	luaList string

	scriptPublish = redis.NewScript(luaPublish)
	scriptLeave   = redis.NewScript(luaLeave)
	scriptPlace   = redis.NewScript(luaPlace)
	scriptReserve = redis.NewScript(luaReserve)
	scriptRedeem  = redis.NewScript(luaRedeem)
	scriptList    = redis.NewScript(luaList)
)

// Room is one room of the fleet as the directory lists it.
type Room struct {
	ID       string
	Node     string // the id of the node that hosts it
	Addr     string // that node's public WebSocket URL
	Mode     string
	Players  int
	Capacity int
	// Local is true for this server's own rooms (listed from the lobby, so
	// their counts are current, and Tick is set).
	Local bool
	Tick  uint32
}

// Want is a join to place.
type Want struct {
	// RoomID is the room asked for; "" is a quick join.
	RoomID string
	// Spectate asks for a spectator's place (by id only: quick spectating
	// stays on this server).
	Spectate bool
	// LocalOnly keeps the join on this server (a client that does not
	// follow redirects).
	LocalOnly bool
}

// Placement is where a join goes.
type Placement struct {
	RoomID string
	// Local is true when this server hosts the room: join it here, then
	// Settle the reservation.
	Local bool
	// Create is true when the room is not open yet: its node opens it with
	// Capacity seats when the first player arrives.
	Create   bool
	Capacity int
	// Addr is the hosting node's public WebSocket URL.
	Addr string
	// Reservation is the seat's single-use token: the hosting node redeems
	// it (a redirect), or this node settles it after the join (local).
	Reservation string
	// Expires is when the reservation lapses.
	Expires  time.Time
	Spectate bool
}

// Ticket is a redeemed reservation: the seat to take here.
type Ticket struct {
	RoomID      string
	Spectate    bool
	Create      bool // open the room (with Capacity seats) if it is not open
	Capacity    int
	Reservation string
}

// Place decides where a join goes: a room of this server, or a room of
// another one with a reservation to redirect the client with. Quick joins
// fill the fullest room with a free seat (counting reservations not yet
// used) and open new rooms on the least loaded server. It fails with
// ErrUnavailable when Redis does not answer (the caller then places the
// join on this server alone), ErrNotFound, ErrFull, ErrNoServer or
// ErrElsewhere.
func (n *Node) Place(ctx context.Context, w Want) (Placement, error) {
	if !n.healthy.Load() {
		return Placement{}, ErrUnavailable
	}
	if w.RoomID == "" && w.Spectate {
		return Placement{}, fmt.Errorf("%w: quick spectating is not placed across the fleet", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
	defer cancel()
	token := randomHex(16)
	local := "0"
	if w.LocalOnly {
		local = "1"
	}
	if w.RoomID == "" {
		res, err := scriptPlace.Run(ctx, n.rdb, nil, n.cfg.Prefix, n.id, n.cfg.Mode, n.cfg.ReservationTTL.Milliseconds(),
			token, "r"+randomHex(4), local).StringSlice()
		if err != nil {
			return Placement{}, n.unavailable(err)
		}
		if len(res) < 6 {
			return Placement{}, ErrNoServer
		}
		return n.placement(res[0], res[1], res[2], res[3], res[4], res[5], token, false)
	}
	spectate := "0"
	if w.Spectate {
		spectate = "1"
	}
	args := []any{n.cfg.Prefix, n.id, w.RoomID, n.cfg.ReservationTTL.Milliseconds(), token, spectate, local}
	for _, r := range n.cfg.Rooms() {
		if r.ID == w.RoomID {
			if n.left.Load() {
				// Draining: the lobby refuses the join itself.
				return Placement{RoomID: w.RoomID, Local: true, Spectate: w.Spectate}, nil
			}
			args = append(args, n.cfg.Addr, n.cfg.Mode, r.Capacity, r.Players, n.cfg.TTL.Milliseconds())
		}
	}
	res, err := scriptReserve.Run(ctx, n.rdb, nil, args...).StringSlice()
	if err != nil {
		return Placement{}, n.unavailable(err)
	}
	switch res[0] {
	case "ok":
		return n.placement(w.RoomID, res[1], res[2], res[3], res[4], res[5], token, w.Spectate)
	case "full":
		return Placement{}, ErrFull
	case "elsewhere":
		return Placement{RoomID: w.RoomID, Addr: res[2]}, fmt.Errorf("%w (%s)", ErrElsewhere, res[2])
	}
	return Placement{}, ErrNotFound
}

func (n *Node) placement(roomID, node, addr, create, capacity, expires, token string, spectate bool) (Placement, error) {
	c, _ := strconv.Atoi(capacity)
	ms, _ := strconv.ParseInt(expires, 10, 64)
	p := Placement{RoomID: roomID, Local: node == n.id, Create: create == "1", Capacity: c, Addr: addr,
		Reservation: token, Expires: time.UnixMilli(ms), Spectate: spectate}
	if p.Local && n.left.Load() {
		// Placed here by a heartbeat that raced Leave: this node takes no one.
		return Placement{}, ErrNoServer
	}
	return p, nil
}

// unavailable wraps a Redis failure; a Redis error reply (a script bug)
// is kept as it is.
func (n *Node) unavailable(err error) error {
	var re redis.Error
	if errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("fleet: Redis refused a script: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// Redeem spends a reservation another node gave a client for roomID on
// this node: at most once, before it expires. It fails with
// ErrReservationInvalid, ErrReservationUsed, ErrReservationExpired or
// ErrUnavailable. Settle the ticket after the join, whatever its outcome.
func (n *Node) Redeem(ctx context.Context, roomID, reservation string) (Ticket, error) {
	if len(reservation) != 32 || roomID == "" {
		return Ticket{}, ErrReservationInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
	defer cancel()
	res, err := scriptRedeem.Run(ctx, n.rdb, nil, n.cfg.Prefix, n.id, roomID, reservation).StringSlice()
	if err != nil {
		return Ticket{}, n.unavailable(err)
	}
	switch res[0] {
	case "ok":
		c, _ := strconv.Atoi(res[3])
		return Ticket{RoomID: roomID, Spectate: res[1] == "1", Create: res[2] == "1", Capacity: c, Reservation: reservation}, nil
	case "used":
		return Ticket{}, ErrReservationUsed
	case "expired":
		return Ticket{}, ErrReservationExpired
	}
	return Ticket{}, ErrReservationInvalid
}

// Settle says a reservation's join is over (seated or refused): the next
// heartbeat, which counts the room's players afresh, forgets the pending
// seat. Spectators' reservations hold no seat and need no settling.
func (n *Node) Settle(roomID, reservation string) {
	if reservation == "" {
		return
	}
	n.mu.Lock()
	n.settled = append(n.settled, roomID, reservation)
	n.mu.Unlock()
}

// Rooms lists every room of the fleet: this server's own (from the lobby)
// and those other live servers publish. When Redis does not answer it
// returns this server's rooms and an error wrapping ErrUnavailable. Sorted
// by id.
func (n *Node) Rooms(ctx context.Context) ([]Room, error) {
	var out []Room
	for _, r := range n.cfg.Rooms() {
		out = append(out, Room{ID: r.ID, Node: n.id, Addr: n.cfg.Addr, Mode: n.cfg.Mode,
			Players: r.Players, Capacity: r.Capacity, Local: true, Tick: r.Tick})
	}
	var err error
	if n.healthy.Load() {
		ctx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
		defer cancel()
		var res []string
		res, err = scriptList.Run(ctx, n.rdb, nil, n.cfg.Prefix).StringSlice()
		for i := 0; i+5 < len(res); i += 6 {
			if res[i+1] == n.id {
				continue // listed from the lobby above
			}
			c, _ := strconv.Atoi(res[i+4])
			p, _ := strconv.Atoi(res[i+5])
			out = append(out, Room{ID: res[i], Node: res[i+1], Addr: res[i+2], Mode: res[i+3], Capacity: c, Players: p})
		}
		if err != nil {
			err = n.unavailable(err)
		}
	} else {
		err = ErrUnavailable
	}
	slices.SortFunc(out, func(a, b Room) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

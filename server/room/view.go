package room

import (
	"time"

	"github.com/arenaserver/arena/proto/arenapb"
)

// View is a room's world as published for watchers such as the admin
// dashboard: a copy the room goroutine makes at the end of a tick, never
// modified afterwards, so any goroutine may read it.
type View struct {
	Room        string
	Tick        uint32
	TickRate    uint32
	Arena       *arenapb.Arena // the map and rules; shared, never modified
	Players     []ViewPlayer   // by id
	Projectiles []ViewProjectile
}

// ViewPlayer is one player in a View. Lengths are fixed-point, as in the
// snapshots (Arena.Scale units per world unit).
type ViewPlayer struct {
	ID     uint32 `json:"id"`
	Name   string `json:"name"`
	X      int32  `json:"x"`
	Y      int32  `json:"y"`
	Aim    uint16 `json:"aim"`
	Health uint8  `json:"health"`
	Kills  uint32 `json:"kills"`
	Deaths uint32 `json:"deaths"`
}

// ViewProjectile is one projectile in a View, at the view's tick.
type ViewProjectile struct {
	ID    uint32 `json:"id"`
	Owner uint32 `json:"owner"`
	X     int32  `json:"x"`
	Y     int32  `json:"y"`
}

const (
	// viewRate is how many views per second a watched room publishes.
	viewRate = 15
	// watchLease is how long one call to Watch keeps views coming.
	watchLease = 2 * time.Second
)

// Watch asks the room to publish a View about 15 times a second for the
// next two seconds, and returns the newest one (nil until the room has
// published one). A watcher calls it at least once a second to keep the
// views coming; an unwatched room builds none. Safe for concurrent use.
func (r *Room) Watch() *View {
	r.watchUntil.Store(time.Now().Add(watchLease).UnixNano())
	return r.view.Load()
}

// Arena returns the room's map and rules (shared; do not modify).
func (r *Room) Arena() *arenapb.Arena { return r.arena }

// Roster returns the names of the room's players in join order, as of the
// last change. The slice is shared: do not modify it.
func (r *Room) Roster() []string {
	if p := r.roster.Load(); p != nil {
		return *p
	}
	return nil
}

// publishRoster keeps a copy of the players' names for Roster; it runs on
// the room goroutine whenever the roster changes.
func (r *Room) publishRoster(players []string) {
	names := append([]string{}, players...)
	r.roster.Store(&names)
}

// publishView builds a View when someone watches and one is due. It runs on
// the room goroutine after a tick; unwatched, it costs one atomic load.
func (r *Room) publishView(now time.Time) {
	until := r.watchUntil.Load()
	if until == 0 {
		return
	}
	if now.UnixNano() > until {
		if r.watchUntil.CompareAndSwap(until, 0) {
			r.view.Store(nil) // let the last view go
		}
		return
	}
	r.viewAcc += viewRate
	if r.viewAcc < r.cfg.TickRate && r.view.Load() != nil {
		return
	}
	r.viewAcc = r.viewAcc % r.cfg.TickRate
	w := r.world
	v := &View{
		Room: r.id, Tick: w.Tick, TickRate: r.cfg.TickRate, Arena: r.arena,
		Players:     make([]ViewPlayer, 0, len(w.Players)),
		Projectiles: make([]ViewProjectile, 0, len(w.Projectiles)),
	}
	for i := range w.Players {
		p := &w.Players[i]
		vp := ViewPlayer{ID: uint32(p.ID), X: p.X, Y: p.Y, Aim: p.Aim, Health: p.Health, Kills: p.Kills, Deaths: p.Deaths}
		for _, m := range r.members {
			if m.player == p.ID {
				vp.Name = m.name
				break
			}
		}
		v.Players = append(v.Players, vp)
	}
	for i := range w.Projectiles {
		pr := &w.Projectiles[i]
		x, y := w.ProjectilePos(pr, w.Tick)
		v.Projectiles = append(v.Projectiles, ViewProjectile{ID: pr.ID, Owner: uint32(pr.Owner), X: x, Y: y})
	}
	r.view.Store(v)
}

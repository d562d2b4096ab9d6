package room

import (
	"time"

	"github.com/arenaserver/arena/game"
)

// View is a room's state as published for watchers such as the admin
// dashboard: built by the room goroutine at the end of a tick, never
// modified afterwards, so any goroutine may read it.
type View struct {
	Room     string
	Game     string
	Tick     uint32
	TickRate uint32
	// Sketch is the newest replicated state drawn by the game's Sketch; nil
	// for a game without one, or before the first snapshot.
	Sketch *game.Sketch
	// Names are the players' display names.
	Names map[game.PlayerID]string
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

// Describe returns the match's description for clients (shared; do not
// modify).
func (r *Room) Describe() []byte { return r.describe }

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
	v := &View{Room: r.id, Game: r.def.Name, Tick: r.ctx.Tick(), TickRate: r.cfg.TickRate, Names: map[game.PlayerID]string{}}
	for _, m := range r.members {
		if m.player != 0 {
			v.Names[m.player] = m.name
		}
	}
	if newest, _ := r.hist.find(r.hist.newestTick()); newest != nil && r.def.Sketch != nil {
		v.Sketch = &game.Sketch{}
		r.def.Sketch(r.describe, newest, v.Sketch)
	}
	r.view.Store(v)
}

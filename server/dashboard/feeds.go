package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/server/room"
)

// Overview is one update of the room list.
type Overview struct {
	Server ServerInfo `json:"server"`
	Rooms  []RoomRow  `json:"rooms"`
}

// ServerInfo is the header of the page.
type ServerInfo struct {
	Draining     bool    `json:"draining"`
	SecondsLeft  float64 `json:"seconds_left"`
	Rooms        int     `json:"rooms"`
	Players      int     `json:"players"`
	Spectators   int     `json:"spectators"`
	Connections  int     `json:"connections"`
	TickRate     uint32  `json:"tick_rate"`
	SnapshotRate uint32  `json:"snapshot_rate"`
	BudgetMs     float64 `json:"budget_ms"`
	UptimeS      float64 `json:"uptime_s"`
}

// RoomRow is one room in the list. Rates are per second, over the time
// since the previous update of the same stream.
type RoomRow struct {
	ID          string   `json:"id"`
	Game        string   `json:"game"`
	Players     []string `json:"players"`
	PlayerCount int      `json:"player_count"`
	Spectators  int      `json:"spectators"`
	Capacity    int      `json:"capacity"`
	Tick        uint32   `json:"tick"`
	P50Ms       float64  `json:"p50_ms"`
	P99Ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	BudgetMs    float64  `json:"budget_ms"`
	Overruns    uint64   `json:"overruns"`
	Skipped     uint64   `json:"skipped"`
	OverloadedS float64  `json:"overloaded_s"`
	// SnapshotRate is snapshots per second to each member.
	SnapshotRate float64 `json:"snapshot_rate"`
	// BytesPerPlayer is snapshot bytes per second to each member.
	BytesPerPlayer float64 `json:"bytes_per_player_s"`
}

// rates remembers the previous sample of each room for one stream.
type rates struct {
	prev map[string]sample
}

type sample struct {
	at        time.Time
	snapshots uint64
}

func newRates() *rates { return &rates{prev: map[string]sample{}} }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// overview builds one update; r keeps the samples rates are computed from.
func (d *Dashboard) overview(r *rates) Overview {
	now := time.Now()
	budget := ms(time.Second / time.Duration(d.cfg.TickRate))
	o := Overview{Server: ServerInfo{
		TickRate: d.cfg.TickRate, SnapshotRate: d.cfg.SnapshotRate, BudgetMs: budget,
		UptimeS: now.Sub(d.started).Seconds(), Rooms: 0, Players: 0,
	}, Rooms: []RoomRow{}}
	if d.cfg.Draining != nil {
		draining, left := d.cfg.Draining()
		o.Server.Draining, o.Server.SecondsLeft = draining, left.Seconds()
	}
	if d.cfg.Census != nil {
		for _, t := range d.cfg.Census() {
			o.Server.Connections += t.Connections
		}
	}
	seen := map[string]bool{}
	for _, rm := range d.cfg.Rooms() {
		i := rm.Info()
		seen[i.ID] = true
		row := RoomRow{
			ID: i.ID, Game: i.Game, Players: slices.Clone(rm.Roster()), PlayerCount: i.Players, Spectators: i.Spectators,
			Capacity: i.Capacity, Tick: i.Tick, P50Ms: ms(i.TickStats.P50), P99Ms: ms(i.TickStats.P99),
			MaxMs: ms(i.TickStats.Max), BudgetMs: budget, Overruns: i.Overruns, Skipped: i.Skipped,
			OverloadedS: i.OverloadedFor.Seconds(),
		}
		if row.Players == nil {
			row.Players = []string{}
		}
		members := i.Players + i.Spectators
		if p, ok := r.prev[i.ID]; ok && members > 0 {
			if secs := now.Sub(p.at).Seconds(); secs > 0 {
				row.SnapshotRate = float64(i.Snapshots-p.snapshots) / secs / float64(members)
			}
		}
		if i.Snapshots > 0 {
			// Average frame size so far times the current rate: smooth,
			// although the byte count is published once a second.
			row.BytesPerPlayer = row.SnapshotRate * float64(i.SnapshotBytes) / float64(i.Snapshots)
		}
		r.prev[i.ID] = sample{at: now, snapshots: i.Snapshots}
		o.Server.Players += i.Players
		o.Server.Spectators += i.Spectators
		o.Rooms = append(o.Rooms, row)
	}
	for id := range r.prev {
		if !seen[id] {
			delete(r.prev, id)
		}
	}
	o.Server.Rooms = len(o.Rooms)
	slices.SortFunc(o.Rooms, func(a, b RoomRow) int { return strings.Compare(a.ID, b.ID) })
	return o
}

// sse is one server-sent event stream.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s
}

// send writes one event; a viewer that does not take it within 5 s is cut.
func (s *sse) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// streamOverview sends the room list every ListEvery until the viewer
// leaves or the dashboard closes.
func (d *Dashboard) streamOverview(w http.ResponseWriter, r *http.Request) {
	s := startSSE(w)
	rt := newRates()
	t := time.NewTicker(d.cfg.ListEvery)
	defer t.Stop()
	for {
		if s.send("rooms", d.overview(rt)) != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-d.closed:
			return
		}
	}
}

// viewMsg is a View as the page draws it: the game's sketch of its newest
// state, and the players' names.
type viewMsg struct {
	Room   string            `json:"room"`
	Game   string            `json:"game"`
	Tick   uint32            `json:"tick"`
	Sketch *game.Sketch      `json:"sketch"`
	Names  map[string]string `json:"names"`
}

func viewMessage(v *room.View) viewMsg {
	m := viewMsg{Room: v.Room, Game: v.Game, Tick: v.Tick, Sketch: v.Sketch, Names: map[string]string{}}
	for id, n := range v.Names {
		m.Names[strconv.FormatUint(uint64(id), 10)] = n
	}
	return m
}

// streamView sends the room's world about ViewEvery until the viewer
// leaves, the room closes or the dashboard closes.
func (d *Dashboard) streamView(w http.ResponseWriter, r *http.Request, id string) {
	var rm *room.Room
	for _, x := range d.cfg.Rooms() {
		if x.ID() == id {
			rm = x
		}
	}
	if rm == nil {
		http.Error(w, "no such room", http.StatusNotFound)
		return
	}
	s := startSSE(w)
	t := time.NewTicker(d.cfg.ViewEvery)
	defer t.Stop()
	var last uint32
	for {
		if v := rm.Watch(); v != nil && v.Tick != last {
			last = v.Tick
			if s.send("view", viewMessage(v)) != nil {
				return
			}
		}
		select {
		case <-t.C:
		case <-rm.Done():
			_ = s.send("closed", map[string]string{"room": id})
			return
		case <-r.Context().Done():
			return
		case <-d.closed:
			return
		}
	}
}

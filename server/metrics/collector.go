package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arenaserver/arena/server/room"
)

// Sources is where a Collector reads at scrape time. Nil fields are
// skipped (their metrics are not exported).
type Sources struct {
	// Rooms lists the open rooms (lobby.List).
	Rooms func() []room.Info
	// Census reports the gateway's connections and traffic.
	Census func() Census
	// Totals are the counters every room adds to.
	Totals *room.Totals
	// Counters are the event counters.
	Counters *Counters
	// Sessions reports the gateway's session figures (gateway.Stats).
	Sessions func() SessionStats
	// Draining reports whether the server is draining.
	Draining func() bool
	// TickRate is the rooms' tick rate, for arena_tick_budget_seconds.
	TickRate uint32
}

// Collector is a prometheus.Collector over Sources.
type Collector struct {
	src Sources
}

// NewCollector returns a collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("arena_"+name, help, labels, nil)
}

var (
	dRooms           = desc("rooms", "Rooms open now.")
	dRoomsOverloaded = desc("rooms_overloaded", "Rooms whose ticks have kept overrunning (more than one in ten) for at least a second.")
	dPlayers         = desc("players", "Sessions seated in a room as players (a held session counts under the transport it last used).", "transport")
	dSpectators      = desc("spectators", "Sessions watching a room.", "transport")
	dConnections     = desc("connections", "Client connections open now.", "transport")
	dOpened          = desc("connections_opened_total", "Client connections accepted.", "transport")
	dBytesIn         = desc("received_bytes_total", "Payload bytes of client messages received.", "transport")
	dMessagesIn      = desc("received_messages_total", "Client messages received.", "transport")
	dBytesOut        = desc("sent_bytes_total", "Payload bytes of server messages handed to the transport.", "transport")
	dMessagesOut     = desc("sent_messages_total", "Server messages handed to the transport.", "transport")
	dOutboxDropped   = desc("outbox_dropped_total", "Frames dropped from client outboxes, by reason.", "reason")
	dDisconnects     = desc("disconnects_total", "Client connections ended, by transport and reason.", "transport", "reason")
	dInputRejected   = desc("input_rejections_total", "Client inputs not applied, by reason.", "reason")
	dHandshake       = desc("handshake_failures_total", "Connections refused before or during the handshake, by reason.", "reason")
	dAuth            = desc("auth_failures_total", "Refused credentials, by reason.", "reason")
	dBudgetRefused   = desc("budget_refusals_total", "Requests a per-address or per-session budget refused (or dropped) before they cost work, by reason.", "reason")
	dHeld            = desc("sessions_held", "Sessions without a transport whose seat is held for a resume, by the transport they last used.", "transport")
	dReconnects      = desc("reconnects_total", "Clients that came back presenting a session.")
	dResumes         = desc("resumes_total", "Reconnected clients that got their held seat back.")
	dTicks           = desc("tick_duration_seconds", "Time a room spends on one tick (inputs, step, snapshots).")
	dOverruns        = desc("tick_overruns_total", "Ticks whose work took longer than the tick period.")
	dSkipped         = desc("ticks_skipped_total", "Scheduled ticks skipped to catch up after overruns.")
	dBudget          = desc("tick_budget_seconds", "The tick period: the time one tick may take.")
	dSnapshots       = desc("snapshots_total", "Snapshot frames offered to room members (some are superseded before they are written; see outbox_dropped_total).")
	dFullSnapshots   = desc("snapshots_full_total", "Snapshot frames that carried a full state (no usable baseline).")
	dEncodes         = desc("snapshot_encodes_total", "Snapshot state encodings: one per distinct baseline per snapshot.")
	dSnapshotSize    = desc("snapshot_size_bytes", "Size of the snapshot frames offered to room members.")
	dDraining        = desc("draining", "1 while the server drains before a shutdown, else 0.")
	dSessions        = desc("sessions", "Live sessions, attached to a transport or held.")
	dHoldExpired     = desc("sessions_expired_total", "Sessions ended because nobody resumed them within the hold window.")
	dEvents          = desc("events_received_total", "Client events handled, and events without a handler.", "handled")
	dRTT             = desc("heartbeat_rtt_seconds", "Heartbeat round trip over the last heartbeats answered, on every connection.")
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		dRooms, dRoomsOverloaded, dPlayers, dSpectators, dConnections, dOpened, dBytesIn, dMessagesIn,
		dBytesOut, dMessagesOut, dOutboxDropped, dDisconnects, dInputRejected, dHandshake, dAuth, dBudgetRefused,
		dHeld, dReconnects, dResumes, dTicks, dOverruns, dSkipped, dBudget, dSnapshots, dFullSnapshots,
		dEncodes, dSnapshotSize, dDraining, dSessions, dHoldExpired, dEvents, dRTT,
	} {
		ch <- d
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// Collect implements prometheus.Collector; it runs at scrape time.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src
	if s.Rooms != nil {
		infos := s.Rooms()
		over := 0
		for _, i := range infos {
			if i.OverloadedFor > 0 {
				over++
			}
		}
		gauge(ch, dRooms, float64(len(infos)))
		gauge(ch, dRoomsOverloaded, float64(over))
	}
	if s.Census != nil {
		census := s.Census()
		var dropped, rosters, events uint64
		for t := range numTransports {
			st, l := census[t], t.String()
			gauge(ch, dPlayers, float64(st.Players), l)
			gauge(ch, dSpectators, float64(st.Spectators), l)
			gauge(ch, dConnections, float64(st.Connections), l)
			gauge(ch, dHeld, float64(st.HeldSessions), l)
			counter(ch, dOpened, st.Opened, l)
			counter(ch, dBytesIn, st.BytesIn, l)
			counter(ch, dMessagesIn, st.MessagesIn, l)
			counter(ch, dBytesOut, st.BytesOut, l)
			counter(ch, dMessagesOut, st.MessagesOut, l)
			dropped += st.SnapshotsDropped
			rosters += st.RostersDropped
			events += st.HeldEventsDropped
		}
		counter(ch, dOutboxDropped, dropped, DropSnapshotSuperseded.String())
		counter(ch, dOutboxDropped, rosters, DropRosterSuperseded.String())
		counter(ch, dOutboxDropped, events, DropHeldEvent.String())
	}
	if k := s.Counters; k != nil {
		for t := range numTransports {
			for r := range numDisconnectReasons {
				counter(ch, dDisconnects, k.disconnects[t][r].Load(), t.String(), r.String())
			}
		}
		for r := range numInputRejections {
			n := k.inputs[r].Load()
			if r == InputQueueFull && s.Totals != nil {
				n += s.Totals.InputsDropped.Load()
			}
			counter(ch, dInputRejected, n, r.String())
		}
		for r := range numHandshakeFailures {
			counter(ch, dHandshake, k.handshakes[r].Load(), r.String())
		}
		for r := range numAuthFailures {
			counter(ch, dAuth, k.auth[r].Load(), r.String())
		}
		for r := range numBudgetRefusals {
			counter(ch, dBudgetRefused, k.budgets[r].Load(), r.String())
		}
		counter(ch, dReconnects, k.reconnects.Load())
		counter(ch, dResumes, k.resumes.Load())
	}
	if t := s.Totals; t != nil {
		ch <- histogram(dTicks, t.Ticks.Load(), time.Duration(t.TickNanos.Load()).Seconds(),
			room.TickBuckets[:], t.TickBucket[:], func(d time.Duration) float64 { return d.Seconds() })
		counter(ch, dOverruns, t.Overruns.Load())
		counter(ch, dSkipped, t.Skipped.Load())
		counter(ch, dSnapshots, t.Snapshots.Load())
		counter(ch, dFullSnapshots, t.FullSnapshots.Load())
		counter(ch, dEncodes, t.Encodes.Load())
		ch <- histogram(dSnapshotSize, 0, float64(t.SnapshotBytes.Load()),
			room.SnapshotBuckets[:], t.SnapshotBucket[:], func(n int) float64 { return float64(n) })
	}
	if s.Sessions != nil {
		st := s.Sessions()
		gauge(ch, dSessions, float64(st.Live))
		counter(ch, dHoldExpired, st.HoldExpired)
		counter(ch, dEvents, st.EventsIn, "true")
		counter(ch, dEvents, st.Unknown, "false")
		ch <- prometheus.MustNewConstSummary(dRTT, st.RTTSamples, 0, map[float64]float64{
			0.5: st.RTTP50.Seconds(), 0.99: st.RTTP99.Seconds(), 1: st.RTTMax.Seconds(),
		})
	}
	if s.TickRate > 0 {
		gauge(ch, dBudget, 1/float64(s.TickRate))
	}
	if s.Draining != nil {
		v := 0.0
		if s.Draining() {
			v = 1
		}
		gauge(ch, dDraining, v)
	}
}

// histogram builds a constant histogram from per-bucket (not cumulative)
// counts; the last count is past the last bound. count 0 means the sum of
// the counts.
func histogram[B any](d *prometheus.Desc, count uint64, sum float64, bounds []B, counts []atomic.Uint64, f func(B) float64) prometheus.Metric {
	cum := make(map[float64]uint64, len(bounds))
	var acc uint64
	for i, b := range bounds {
		acc += counts[i].Load()
		cum[f(b)] = acc
	}
	acc += counts[len(bounds)].Load()
	if count == 0 || count < acc {
		count = acc
	}
	return prometheus.MustNewConstHistogram(d, count, sum, cum)
}

// NewRegistry returns a registry with a Collector over src plus the Go
// runtime and process collectors.
func NewRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the Prometheus text (or negotiated) format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

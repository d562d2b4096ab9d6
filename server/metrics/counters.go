// Package metrics exposes the server's counters to Prometheus. The parts of
// the server count where things happen, cheaply: rooms into room.Totals
// (flushed from the room goroutine about once a second), the gateway into
// per-connection atomics and into Counters (events such as disconnects and
// handshake failures, each with a typed reason). A Collector reads all of
// them only when Prometheus scrapes, so nothing on the tick path calls the
// Prometheus client.
//
// Labels take values from the small enums of this package only (never a
// player or room id), so every series is bounded.
//
// metrics imports the room package for its Totals and Info; nothing of
// metrics imports the gateway, which imports metrics.
package metrics

import (
	"sync/atomic"
	"time"
)

// Transport names the transport a connection uses (label "transport").
type Transport uint8

const (
	TransportWS   Transport = iota // WebSocket
	TransportPoll                  // HTTP long-polling
	numTransports
)

func (t Transport) String() string {
	switch t {
	case TransportWS:
		return "ws"
	case TransportPoll:
		return "poll"
	}
	return "unknown"
}

// DisconnectReason is why a connection ended (label "reason").
type DisconnectReason uint8

const (
	DisconnectClosed        DisconnectReason = iota // the client closed it, or the network dropped it
	DisconnectProtocol                              // a fatal protocol error (malformed, unknown, too large, handshake)
	DisconnectRateLimited                           // the client sent more than its limit
	DisconnectSlowConsumer                          // the client did not read what it was sent
	DisconnectTimeout                               // the client went silent
	DisconnectShutdown                              // the server shut down
	DisconnectInternal                              // a server fault
	DisconnectMoved                                 // the session resumed on another connection
	DisconnectResumeRefused                         // a resume with a bad token or an ended session
	numDisconnectReasons
)

func (r DisconnectReason) String() string {
	return [...]string{"closed", "protocol_error", "rate_limited", "slow_consumer", "timeout", "shutdown", "internal",
		"session_moved", "resume_refused", "unknown"}[min(r, numDisconnectReasons)]
}

// InputRejection is why an input was not applied (label "reason").
type InputRejection uint8

const (
	InputOutOfRange  InputRejection = iota // refused by the game's CheckInput, or too long
	InputNotInRoom                         // sent outside a room (or racing a leave)
	InputQueueFull                         // the player's input queue was full (counted by rooms)
	InputStale                             // numbered 0 or at or below the applied number (resends land here)
	InputDuplicate                         // already queued (resends land here too)
	InputFarFuture                         // numbered implausibly far ahead of the applied number
	InputRateLimited                       // past the session's input rate (tick rate × 1.25, burst 8)
	numInputRejections
)

func (r InputRejection) String() string {
	return [...]string{"out_of_range", "not_in_room", "queue_full", "stale", "duplicate", "far_future",
		"rate_limited", "unknown"}[min(r, numInputRejections)]
}

// HandshakeFailure is why a connection never completed its handshake
// (label "reason").
type HandshakeFailure uint8

const (
	HandshakeUpgrade   HandshakeFailure = iota // the HTTP upgrade (or poll session) was refused
	HandshakeVersion                           // Hello with another protocol version
	HandshakeBadHello                          // no Hello first, a second Hello, or a bad name
	HandshakeOrigin                            // a browser Origin not allowed
	HandshakeConnLimit                         // too many connections from one address, or too many sessions
	HandshakeTimeout                           // no Hello within the hello timeout
	numHandshakeFailures
)

func (r HandshakeFailure) String() string {
	return [...]string{"upgrade", "protocol_version", "bad_hello", "origin", "conn_limit", "hello_timeout",
		"unknown"}[min(r, numHandshakeFailures)]
}

// AuthFailure is which credential was refused (label "reason").
type AuthFailure uint8

const (
	AuthAdminToken   AuthFailure = iota // a wrong or missing admin token (dashboard)
	AuthSessionToken                    // a wrong or expired session token (reconnection)
	numAuthFailures
)

func (r AuthFailure) String() string {
	return [...]string{"admin_token", "session_token", "unknown"}[min(r, numAuthFailures)]
}

// OutboxDrop is why a frame queued for a client was dropped (label
// "reason"). Replies are never dropped: a live client whose reliable queue
// fills is disconnected (DisconnectSlowConsumer) instead; what a client
// has not seen yet is compacted (a roster replaced by a newer one, the
// oldest events of a held session).
type OutboxDrop uint8

const (
	DropSnapshotSuperseded OutboxDrop = iota // a newer snapshot replaced one not yet written
	DropRosterSuperseded                     // a newer roster replaced one not yet written
	DropHeldEvent                            // an event a held session missed, past the newest 64
	numOutboxDrops
)

func (r OutboxDrop) String() string {
	return [...]string{"snapshot_superseded", "roster_superseded", "held_event", "unknown"}[min(r, numOutboxDrops)]
}

// BudgetRefusal is which budget refused a stranger's request before it
// cost work (label "reason").
type BudgetRefusal uint8

const (
	BudgetSessionsPerAddress  BudgetRefusal = iota // a Hello from an address holding its most sessions (held ones count)
	BudgetRoomsPerAddress                          // a new room for an address with its most rooms open
	BudgetLobbyRate                                // a lobby request (list, create, join, leave) past its session's or address's rate
	BudgetEventsPerAddress                         // an event past its address's rate
	BudgetHTTPConnsPerAddress                      // a TCP connection past its address's limit (any route), closed at once
	BudgetFrameRate                                // a client frame past its connection's frame or byte rate, dropped unread
	BudgetConnRate                                 // a TCP connection past its address\'s rate of new ones, closed at once
	numBudgetRefusals
)

func (r BudgetRefusal) String() string {
	return [...]string{"sessions_per_address", "rooms_per_address", "lobby_rate", "events_per_address",
		"http_conns_per_address", "frame_rate", "conn_rate", "unknown"}[min(r, numBudgetRefusals)]
}

// Counters count events by typed reason. All methods are safe for
// concurrent use and cheap (one atomic add); they do nothing on a nil
// *Counters, so code and tests that keep no metrics pass nil.
//
// The gateway calls Disconnected, HandshakeFailed and InputRejected;
// session handling calls Reconnected when a client comes back with a
// session token and Resumed when it gets its held seat back, and
// AuthFailed(AuthSessionToken) when its token is refused; the dashboard
// calls AuthFailed(AuthAdminToken).
type Counters struct {
	disconnects [numTransports][numDisconnectReasons]atomic.Uint64
	inputs      [numInputRejections]atomic.Uint64
	handshakes  [numHandshakeFailures]atomic.Uint64
	auth        [numAuthFailures]atomic.Uint64
	budgets     [numBudgetRefusals]atomic.Uint64
	reconnects  atomic.Uint64
	resumes     atomic.Uint64
}

// Disconnected counts a connection of transport t that ended for reason r.
func (c *Counters) Disconnected(t Transport, r DisconnectReason) {
	if c != nil && t < numTransports && r < numDisconnectReasons {
		c.disconnects[t][r].Add(1)
	}
}

// InputRejected counts n inputs not applied for reason r.
func (c *Counters) InputRejected(r InputRejection, n int) {
	if c != nil && r < numInputRejections && n > 0 {
		c.inputs[r].Add(uint64(n))
	}
}

// HandshakeFailed counts a connection refused before or during Hello.
func (c *Counters) HandshakeFailed(r HandshakeFailure) {
	if c != nil && r < numHandshakeFailures {
		c.handshakes[r].Add(1)
	}
}

// AuthFailed counts a refused credential.
func (c *Counters) AuthFailed(r AuthFailure) {
	if c != nil && r < numAuthFailures {
		c.auth[r].Add(1)
	}
}

// BudgetRefused counts a request a budget refused.
func (c *Counters) BudgetRefused(r BudgetRefusal) {
	if c != nil && r < numBudgetRefusals {
		c.budgets[r].Add(1)
	}
}

// Budget is how many requests budget r refused (for tests and tools).
func (c *Counters) Budget(r BudgetRefusal) uint64 {
	if c == nil || r >= numBudgetRefusals {
		return 0
	}
	return c.budgets[r].Load()
}

// Reconnected counts a client that came back presenting a session.
func (c *Counters) Reconnected() {
	if c != nil {
		c.reconnects.Add(1)
	}
}

// Resumed counts a reconnected client that got its held seat back.
func (c *Counters) Resumed() {
	if c != nil {
		c.resumes.Add(1)
	}
}

// TransportStats is the gateway's view of one transport at one moment:
// gauges of what is open now and counters since the server started.
type TransportStats struct {
	Connections  int // open now
	Players      int // sessions seated in a room as players
	Spectators   int // sessions watching a room
	HeldSessions int // sessions without a transport, waiting for a resume

	Opened            uint64 // connections accepted
	BytesIn           uint64 // client message payload bytes received
	MessagesIn        uint64 // client messages received
	BytesOut          uint64 // server message payload bytes handed to the transport
	MessagesOut       uint64 // server messages handed to the transport
	SnapshotsDropped  uint64 // snapshots a newer one replaced before they were written
	RostersDropped    uint64 // rosters a newer one replaced before they were written
	HeldEventsDropped uint64 // events a held session missed past the newest it keeps
}

// Census is every transport's stats, indexed by Transport.
type Census [numTransports]TransportStats

// SessionStats are the gateway's session figures that its own counters
// keep (gateway.Server.Stats).
type SessionStats struct {
	Live        int64         // sessions, attached or held
	HoldExpired uint64        // sessions ended because nobody resumed them in time
	EventsIn    uint64        // client events handled
	Unknown     uint64        // client events without a handler
	RTTSamples  uint64        // heartbeats answered
	RTTP50      time.Duration // heartbeat round trip over the last samples
	RTTP99      time.Duration
	RTTMax      time.Duration
}

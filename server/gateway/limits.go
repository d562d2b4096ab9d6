package gateway

import (
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/rate"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/metrics"
)

// Limits are what a stranger's client meets at the edge, beyond the
// transports' own (frame and body sizes, timeouts). Zero fields take the
// defaults in their comments (Config.Fill).
type Limits struct {
	// InputRate and InputBurst bound the new inputs (sequence numbers not
	// seen before; resends are free) a session sends, as a token bucket
	// that never banks more than the burst. Inputs past them are refused
	// (counted as rate_limited); a session whose new inputs over Sustain
	// exceed InputRate × Sustain + InputBurst is closed with
	// Error{RATE_LIMITED}. Default tick rate × 1.25, burst 8.
	InputRate  float64
	InputBurst int
	// EventRate and EventBurst bound client events per session; an event
	// past them is answered with a non-fatal Error{RATE_LIMITED} and not
	// handled. Default 20 per second, burst 40.
	EventRate  float64
	EventBurst int
	// MessageRate and MessageBurst bound the frames a connection sends,
	// ByteRate and ByteBurst their bytes. A frame past them is dropped
	// before it is decoded (a reliable one is then missing from the
	// client's sequence, which ends the session with RATE_LIMITED at its
	// next reliable frame); a connection that keeps attempting more than
	// the rate over Sustain is closed with Error{RATE_LIMITED}. Default 4 ×
	// tick rate frames per second, burst 256; 64 KiB per second, burst
	// 64 KiB.
	MessageRate  float64
	MessageBurst int
	ByteRate     float64
	ByteBurst    int
	// Sustain is the window over which every rate is held on average: what
	// is past a burst is refused at once, and a connection (or session)
	// whose attempts within any Sustain exceed rate × Sustain + burst is
	// closed, however it spaces its bursts. An honest client whose frames
	// arrive all at once after a stall is refused what is past the burst,
	// and cut only when the backlog exceeds a window's worth at the rate
	// (at the defaults: inputs after a stall of about 1.4 s, frames after
	// about 8 s). Default 1 s.
	Sustain time.Duration
	// BadInputs bounds inputs with out-of-range values: each is dropped
	// and counted, and past this many (refilled one per second) the
	// connection is closed with Error{MALFORMED}. Default 32.
	BadInputs int
	// HelloTimeout is how long a connection (a WebSocket after its upgrade,
	// a polling channel after it opens) may go without a Hello before it is
	// closed with Error{TIMEOUT}. Default 5 s.
	HelloTimeout time.Duration
	// MaxConnsPerIP bounds the open connections (WebSocket and polling)
	// from one remote address; past it an upgrade or a channel gets 429.
	// Behind a proxy every client shares its address: raise it or set -1
	// (no limit) and limit at the proxy. Default 64.
	MaxConnsPerIP int
	// MaxSessions bounds live sessions, attached or held; a Hello past it
	// gets Error{SERVER_FULL} (fatal). Default 10000.
	MaxSessions int
	// MaxSessionsPerIP bounds the live sessions, attached or held, that
	// one remote address created; a Hello past it gets Error{OVER_BUDGET}
	// (fatal) and creates nothing. A session counts against the address
	// that created it until it ends, wherever it resumes from, so
	// resuming renews nothing. -1 means no bound. Default 64.
	MaxSessionsPerIP int
	// MaxHTTPConnsPerIP bounds the TCP connections one address holds on
	// any route (ConnState): past it a new connection is closed before its
	// request is read. WebSockets count here until their upgrade and under
	// MaxConnsPerIP after. -1 means no bound. Default 256.
	MaxHTTPConnsPerIP int
	// ConnRatePerIP and ConnBurstPerIP bound the new TCP connections one
	// address opens, on any route (ConnState): one past them is closed
	// before its request is read, which is all it costs. -1 means no
	// bound. Default 50 a second, burst 100.
	ConnRatePerIP  float64
	ConnBurstPerIP int
	// LobbyRate and LobbyBurst bound each session's lobby requests
	// (ListRooms, CreateRoom, JoinRoom, LeaveRoom): one past them is
	// answered with a non-fatal Error{OVER_BUDGET} and not done; a session
	// that keeps over (Sustain) is closed with Error{RATE_LIMITED}.
	// Default 5 a second, burst 20.
	LobbyRate  float64
	LobbyBurst int
	// LobbyRatePerIP and LobbyBurstPerIP bound the lobby requests of all
	// the sessions of one address together (OVER_BUDGET, not fatal).
	// Default 50 a second, burst 200.
	LobbyRatePerIP  float64
	LobbyBurstPerIP int
	// EventRatePerIP and EventBurstPerIP bound the client events of all
	// the sessions of one address together, beside each session's
	// EventRate: one past them is answered with a non-fatal
	// Error{RATE_LIMITED} and not handled. Default 200 a second, burst 400.
	EventRatePerIP  float64
	EventBurstPerIP int
	// MaxListedRooms bounds the rooms a RoomList carries: when more are
	// open, those with a free seat and the most players are listed
	// (sorted by id). Default 100.
	MaxListedRooms int
	// ListEvery is how often the room list is rebuilt: every ListRooms in
	// between gets the same answer, so a flood of them costs no more than
	// one list per interval. Default 250 ms.
	ListEvery time.Duration
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may connect; "*" allows any. A request without an Origin header (a
	// native client) and a same-origin request (Origin's host is the Host
	// header) are always allowed; others get 403. Default none.
	AllowedOrigins []string
}

func (l *Limits) fill(tickRate uint32) {
	if tickRate == 0 {
		tickRate = 60
	}
	if l.InputRate <= 0 {
		l.InputRate = float64(tickRate) * 1.25
	}
	if l.InputBurst <= 0 {
		l.InputBurst = 8
	}
	if l.EventRate <= 0 {
		l.EventRate = 20
	}
	if l.EventBurst <= 0 {
		l.EventBurst = 40
	}
	if l.MessageRate <= 0 {
		l.MessageRate = 4 * float64(tickRate)
	}
	if l.MessageBurst <= 0 {
		l.MessageBurst = 256
	}
	if l.ByteRate <= 0 {
		l.ByteRate = 64 << 10
	}
	if l.ByteBurst <= 0 {
		l.ByteBurst = 64 << 10
	}
	if l.Sustain <= 0 {
		l.Sustain = time.Second
	}
	if l.BadInputs <= 0 {
		l.BadInputs = 32
	}
	if l.HelloTimeout <= 0 {
		l.HelloTimeout = 5 * time.Second
	}
	if l.MaxConnsPerIP == 0 {
		l.MaxConnsPerIP = 64
	}
	if l.MaxSessions <= 0 {
		l.MaxSessions = 10000
	}
	if l.MaxSessionsPerIP == 0 {
		l.MaxSessionsPerIP = 64
	}
	if l.MaxHTTPConnsPerIP == 0 {
		l.MaxHTTPConnsPerIP = 256
	}
	if l.ConnRatePerIP == 0 {
		l.ConnRatePerIP = 50
	}
	if l.ConnBurstPerIP <= 0 {
		l.ConnBurstPerIP = 100
	}
	if l.LobbyRate <= 0 {
		l.LobbyRate = 5
	}
	if l.LobbyBurst <= 0 {
		l.LobbyBurst = 20
	}
	if l.LobbyRatePerIP <= 0 {
		l.LobbyRatePerIP = 50
	}
	if l.LobbyBurstPerIP <= 0 {
		l.LobbyBurstPerIP = 200
	}
	if l.EventRatePerIP <= 0 {
		l.EventRatePerIP = 200
	}
	if l.EventBurstPerIP <= 0 {
		l.EventBurstPerIP = 400
	}
	if l.MaxListedRooms <= 0 {
		l.MaxListedRooms = 100
	}
	if l.ListEvery <= 0 {
		l.ListEvery = 250 * time.Millisecond
	}
}

// Errors the limits end connections with.
var (
	errRateLimitedFrames = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many messages")
	errRateLimitedBytes  = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many bytes")
	errRateLimitedInputs = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "inputs faster than the tick rate")
	errRateLimitedEvents = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many events")
	errBadInputs         = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "too many inputs with out-of-range values")
	errHelloTimeout      = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TIMEOUT, "no Hello in time")
)

// connLimits are one connection's rate limits, owned by its read side.
type connLimits struct {
	frames, bytes rate.Limiter
	dropped       uint64 // frames dropped for a rate
}

func newConnLimits(l *Limits) connLimits {
	return connLimits{
		frames: rate.New(l.MessageRate, l.MessageBurst, l.Sustain),
		bytes:  rate.New(l.ByteRate, l.ByteBurst, l.Sustain),
	}
}

// admit counts one received frame of n bytes against the connection's
// limits before anything decodes it. ok false means the frame is over a
// rate and must be dropped unread; a non-nil error is what to close with:
// the peer has kept over a rate on average.
func (c *connLimits) admit(now time.Time, n int) (ok bool, e *netcode.Error) {
	okFrames, cut := c.frames.Take(now, 1)
	if cut {
		return false, errRateLimitedFrames
	}
	if !okFrames {
		c.dropped++
		return false, nil
	}
	okBytes, cut := c.bytes.Take(now, float64(n))
	if cut {
		return false, errRateLimitedBytes
	}
	if !okBytes {
		c.dropped++
		return false, nil
	}
	return true, nil
}

// sessionLimits are one session's rate limits, guarded by session.frameMu:
// they outlive a connection, so reconnecting does not refill them.
type sessionLimits struct {
	inputs, events, bad, lobby rate.Limiter
	inputHigh                  uint32 // highest input sequence number received
}

func newSessionLimits(l *Limits) sessionLimits {
	return sessionLimits{
		inputs: rate.New(l.InputRate, l.InputBurst, l.Sustain),
		events: rate.New(l.EventRate, l.EventBurst, l.Sustain),
		lobby:  rate.New(l.LobbyRate, l.LobbyBurst, l.Sustain),
		// A bad input costs a token; a client gets BadInputs of them, then
		// one a second. Running dry closes it at once.
		bad: rate.New(1, l.BadInputs, 0),
	}
}

// ipOf is the address part of a request's remote address.
func ipOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// originAllowed applies the Origin rule of Limits.AllowedOrigins to r.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	for _, o := range s.cfg.Limits.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// guardEdge refuses, before any transport work, a browser request from an
// origin not allowed and a new connection past the per-address limit. It
// wraps the WebSocket and polling routes alike.
func (s *Server) guardEdge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.originAllowed(r) {
			s.cfg.Metrics.HandshakeFailed(metrics.HandshakeOrigin)
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		if s.crossOrigin(w, r) {
			return // a preflight, answered
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin lets a page of an allowed origin other than the server's
// own (a page served from a CDN, -allowed-origins) use the polling routes
// with fetch: CORS headers on the answer (the channel's id, key and error
// code readable), and an answer to the browser's preflight, which it
// reports as handled. No credentials: the key in its header is the only
// one. The request's origin has passed originAllowed.
func (s *Server) crossOrigin(w http.ResponseWriter, r *http.Request) (preflight bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return false // same origin: nothing to say
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Arena-Poll-Id, Arena-Poll-Key, Arena-Error-Code, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", "Arena-Poll-Key, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// recovered runs f and turns a panic in it into a log line with the stack
// and the connection's close with Error{INTERNAL}: a fault in one
// connection's goroutine ends that connection only.
func (s *Server) recovered(c *conn, where string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("connection goroutine panicked", "where", where, "panic", p, "stack", string(debug.Stack()))
			e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
			c.link.Close(e.Frame(0), e)
		}
	}()
	f()
}

package gateway

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/rate"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/metrics"
)

// Budgets per remote address and per session: everything a stranger can
// make the server keep (connections, sessions connected or held, rooms)
// or compute (lobby requests, events) is counted where it is asked for
// and refused before the work when it is over (Limits). The rooms an
// address has open are the lobby's to count (lobby.Config.MaxRoomsPerOwner);
// the rest is here.

// Errors the budgets refuse with.
var (
	errAddressSessions  = errors.New("gateway: too many sessions from this address")
	errOverLobby        = netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET, "too many lobby requests; slow down")
	errOverLobbyAddr    = netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_OVER_BUDGET, "too many lobby requests from this address; slow down")
	errOverEventsAddr   = netcode.Errorf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many events from this address; slow down")
	errRateLimitedLobby = netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many lobby requests")
)

// addrBudget is what one remote address holds and spends. Guarded by
// addrBudgets.mu.
type addrBudget struct {
	conns    int          // open transports (WebSockets, polling channels)
	sessions int          // live sessions it created, attached or held
	lobby    rate.Limiter // lobby requests of all its sessions
	events   rate.Limiter // client events of all its sessions
	connects rate.Limiter // new TCP connections
	used     time.Time    // last Take of a bucket
	refill   time.Duration
}

// addrBudgets keeps every remote address's budget; an address that holds
// nothing and whose buckets have refilled is forgotten. Safe for
// concurrent use; its lock is taken after Server.mu, never before.
type addrBudgets struct {
	lim *Limits

	mu    sync.Mutex
	addrs map[string]*addrBudget
	sweep int // sweep idle addresses when there are more than this
}

// getLocked returns ip's budget, creating it; b.mu is held.
func (b *addrBudgets) getLocked(ip string) *addrBudget {
	if a := b.addrs[ip]; a != nil {
		return a
	}
	if b.addrs == nil {
		b.addrs, b.sweep = map[string]*addrBudget{}, 1024
	}
	l := b.lim
	a := &addrBudget{
		lobby:    rate.New(l.LobbyRatePerIP, l.LobbyBurstPerIP, l.Sustain),
		events:   rate.New(l.EventRatePerIP, l.EventBurstPerIP, l.Sustain),
		connects: rate.New(max(l.ConnRatePerIP, 0), l.ConnBurstPerIP, l.Sustain),
		refill:   max(seconds(float64(l.LobbyBurstPerIP)/l.LobbyRatePerIP), seconds(float64(l.EventBurstPerIP)/l.EventRatePerIP)),
	}
	if l.ConnRatePerIP > 0 {
		a.refill = max(a.refill, seconds(float64(l.ConnBurstPerIP)/l.ConnRatePerIP))
	}
	b.addrs[ip] = a
	if len(b.addrs) > b.sweep {
		now := time.Now()
		for ip, a := range b.addrs {
			if a.idle(now) {
				delete(b.addrs, ip)
			}
		}
		b.sweep = 2*len(b.addrs) + 1024
	}
	return a
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// idle reports whether a holds nothing a stranger could use: no
// connection, no session, and buckets that have refilled.
func (a *addrBudget) idle(now time.Time) bool {
	return a.conns == 0 && a.sessions == 0 && now.Sub(a.used) >= a.refill
}

// releaseLocked forgets ip's budget once it is idle; b.mu is held.
func (b *addrBudgets) releaseLocked(ip string, a *addrBudget) {
	if a.idle(time.Now()) {
		delete(b.addrs, ip)
	}
}

// reserveConn counts a new connection from ip; false means the address is
// at Limits.MaxConnsPerIP.
func (b *addrBudgets) reserveConn(ip string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.getLocked(ip)
	if limit := b.lim.MaxConnsPerIP; limit > 0 && a.conns >= limit {
		return false
	}
	a.conns++
	return true
}

func (b *addrBudgets) releaseConn(ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.addrs[ip]; a != nil {
		a.conns--
		b.releaseLocked(ip, a)
	}
}

// reserveSession counts a new session for ip. It fails with
// errAddressSessions when the address holds MaxSessionsPerIP live sessions
// (held ones count: a resume renews nothing).
func (b *addrBudgets) reserveSession(ip string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.getLocked(ip)
	if limit := b.lim.MaxSessionsPerIP; limit > 0 && a.sessions >= limit {
		return errAddressSessions
	}
	a.sessions++
	return nil
}

// adoptSession counts a session adopted from another server (a hand-off)
// against ip, whatever its budget: it was admitted there.
func (b *addrBudgets) adoptSession(ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.getLocked(ip).sessions++
}

// releaseSession returns the session slot of the address that created it.
func (b *addrBudgets) releaseSession(ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.addrs[ip]; a != nil {
		a.sessions--
		b.releaseLocked(ip, a)
	}
}

// sessions is how many live sessions ip created.
func (b *addrBudgets) sessions(ip string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.addrs[ip]; a != nil {
		return a.sessions
	}
	return 0
}

// take takes one token of ip's bucket picked by which; it reports whether
// the request may go on. An address is never cut: its sessions are, one
// by one, by their own buckets.
func (b *addrBudgets) take(ip string, now time.Time, which func(*addrBudget) *rate.Limiter) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.getLocked(ip)
	a.used = now
	ok, _ := which(a).Take(now, 1)
	return ok
}

// reserveIP counts a new connection from ip; false means the address is at
// its limit.
func (s *Server) reserveIP(ip string) bool { return s.budget.reserveConn(ip) }

func (s *Server) releaseIP(ip string) { s.budget.releaseConn(ip) }

// SessionsFrom is how many live sessions (attached or held) ip created.
func (s *Server) SessionsFrom(ip string) int { return s.budget.sessions(ip) }

// admitLobby applies the lobby budgets (the session's, then its address's)
// to one lobby request. It returns nil to go on, or the error to answer
// with: non-fatal while over, fatal when the session keeps over its rate.
func (s *session) admitLobby(now time.Time) *netcode.Error {
	ok, cut := s.lim.lobby.Take(now, 1)
	switch {
	case cut:
		s.srv.cfg.Metrics.BudgetRefused(metrics.BudgetLobbyRate)
		return errRateLimitedLobby
	case !ok:
		s.srv.cfg.Metrics.BudgetRefused(metrics.BudgetLobbyRate)
		return errOverLobby
	}
	if !s.srv.budget.take(s.ip, now, func(a *addrBudget) *rate.Limiter { return &a.lobby }) {
		s.srv.cfg.Metrics.BudgetRefused(metrics.BudgetLobbyRate)
		return errOverLobbyAddr
	}
	return nil
}

// admitEventAddr applies the address's event budget to one event.
func (s *session) admitEventAddr(now time.Time) bool {
	if s.srv.budget.take(s.ip, now, func(a *addrBudget) *rate.Limiter { return &a.events }) {
		return true
	}
	s.srv.cfg.Metrics.BudgetRefused(metrics.BudgetEventsPerAddress)
	return false
}

// httpConns counts the TCP connections of every route by remote address
// (Server.ConnState): past Limits.MaxHTTPConnsPerIP a new one is closed
// before its first request is read. It also bounds each connection's
// kernel send buffer (Config.SendBuffer). Safe for concurrent use.
type httpConns struct {
	mu    sync.Mutex
	ip    map[net.Conn]string // counted connections, by the address they count against
	perIP map[string]int
}

// ConnState is the http.Server.ConnState hook the gateway needs on every
// listener that serves its routes (and any other route of the process):
// it counts each TCP connection against its remote address, closes one
// past Limits.MaxHTTPConnsPerIP or Limits.ConnRatePerIP at once, and fixes
// the kernel send buffer
// of each (Config.SendBuffer) so that a peer that never reads is cut
// within the write timeout instead of filling megabytes first. A
// hijacked connection (a WebSocket) stops counting here: the WebSocket
// budget (Limits.MaxConnsPerIP) counts it from then on.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	h := &s.http
	switch st {
	case http.StateNew:
		ip := remoteIP(c.RemoteAddr())
		if s.cfg.Limits.ConnRatePerIP > 0 && !s.budget.take(ip, time.Now(), func(a *addrBudget) *rate.Limiter { return &a.connects }) {
			s.cfg.Metrics.BudgetRefused(metrics.BudgetConnRate)
			_ = c.Close() // before a byte of its request is read
			return
		}
		if tc, ok := c.(*net.TCPConn); ok && s.cfg.SendBuffer > 0 {
			_ = tc.SetWriteBuffer(s.cfg.SendBuffer)
		}
		limit := s.cfg.Limits.MaxHTTPConnsPerIP
		h.mu.Lock()
		if h.ip == nil {
			h.ip, h.perIP = map[net.Conn]string{}, map[string]int{}
		}
		over := limit > 0 && h.perIP[ip] >= limit
		if !over {
			h.ip[c] = ip
			h.perIP[ip]++
		}
		h.mu.Unlock()
		if over {
			s.cfg.Metrics.BudgetRefused(metrics.BudgetHTTPConnsPerAddress)
			_ = c.Close() // before a byte of its request is read
		}
	case http.StateHijacked, http.StateClosed:
		h.mu.Lock()
		if ip, ok := h.ip[c]; ok {
			delete(h.ip, c)
			if h.perIP[ip]--; h.perIP[ip] <= 0 {
				delete(h.perIP, ip)
			}
		}
		h.mu.Unlock()
	}
}

// HTTPConnsFrom is how many TCP connections (not hijacked) ip holds on
// the routes served with ConnState.
func (s *Server) HTTPConnsFrom(ip string) int {
	s.http.mu.Lock()
	defer s.http.mu.Unlock()
	return s.http.perIP[ip]
}

// remoteIP is the address part of a connection's remote address.
func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

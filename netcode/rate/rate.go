// Package rate is the token bucket behind the server's per-connection and
// per-session limits, with the rule that turns an excess kept up on
// average into a disconnection: whatever comes past the burst is refused
// at once (the caller drops it without doing its work), and a peer whose
// attempts over a window exceed what the rate allows in it is cut, however
// it spaces its bursts.
//
// rate imports only the standard library.
package rate

import "time"

// Limiter is a token bucket of Rate tokens a second, at most Burst saved,
// beside a second, slower account of every attempt (refused ones too),
// which holds Burst + Rate × window: a peer that keeps attempting more than
// the rate on average overdraws it within about a window, whether it sends
// steadily or in bursts spaced by pauses. An honest peer whose items arrive
// all at once after a stall (up to about a window's worth at its usual
// rate) is refused what is past the burst, but not cut.
//
// It is not safe for concurrent use: each one belongs to one connection's
// (or session's) read side. The zero value allows nothing; build it with
// New.
type Limiter struct {
	rate   float64 // tokens per second
	burst  float64
	window float64 // credit held: burst + rate × window

	tokens float64
	credit float64 // what attempts may still take before the peer is cut
	last   time.Time
}

// New returns a full bucket of burst tokens refilled at rate per second,
// whose attempts over any window are held to rate × window + burst (see
// Limiter). A window of 0 cuts at the first refusal.
func New(rate float64, burst int, window time.Duration) Limiter {
	b := float64(burst)
	w := b + rate*window.Seconds()
	return Limiter{rate: rate, burst: b, window: w, tokens: b, credit: w}
}

// Take takes n tokens at now. ok reports whether they were there (when not,
// none is taken and the caller drops the item); cut reports that the
// attempts have overdrawn the window: the caller closes the connection.
// Tokens are never banked beyond the burst: holding back and then bursting
// gains nothing.
func (l *Limiter) Take(now time.Time, n float64) (ok, cut bool) {
	if l.last.IsZero() {
		l.last = now
	}
	if dt := now.Sub(l.last); dt > 0 {
		refill := dt.Seconds() * l.rate
		l.tokens = min(l.burst, l.tokens+refill)
		l.credit = min(l.window, l.credit+refill)
		l.last = now
	}
	l.credit -= n
	if l.tokens >= n {
		l.tokens -= n
		return true, false
	}
	return false, l.credit < 0
}

// Tokens is what the bucket holds at its last Take.
func (l *Limiter) Tokens() float64 { return l.tokens }

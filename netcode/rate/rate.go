// Package rate is the token bucket behind the server's per-connection and
// per-session limits, with the rule that turns a sustained excess into a
// disconnection: a brief burst over the rate is refused item by item, a
// flood that keeps going is cut.
//
// rate imports only the standard library.
package rate

import "time"

// Limiter is a token bucket: Rate tokens a second, at most Burst saved. It
// is not safe for concurrent use: each one belongs to one connection's (or
// session's) read side. The zero value allows nothing; build it with New.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	sustain time.Duration

	tokens    float64
	last      time.Time // when tokens was last refilled
	overSince time.Time // start of the current run of refusals; zero when none
	lastOver  time.Time // the last refusal
}

// gap is how long a run of refusals may pause and still count as one run.
const gap = 250 * time.Millisecond

// New returns a full bucket of burst tokens refilled at rate per second. A
// run of refusals that lasts sustain or longer (with no pause over 250 ms)
// makes Take report that the peer must be cut.
func New(rate float64, burst int, sustain time.Duration) Limiter {
	return Limiter{rate: rate, burst: float64(burst), sustain: sustain, tokens: float64(burst)}
}

// Take takes n tokens at now. ok reports whether they were there (when not,
// none is taken and the caller refuses the item); cut reports that refusals
// have gone on for the sustain period: the caller closes the connection.
// Tokens are never banked beyond the burst: holding back and then bursting
// gains nothing.
func (l *Limiter) Take(now time.Time, n float64) (ok, cut bool) {
	if l.last.IsZero() {
		l.last = now
	}
	if dt := now.Sub(l.last); dt > 0 {
		l.tokens = min(l.burst, l.tokens+dt.Seconds()*l.rate)
		l.last = now
	}
	if l.tokens >= n {
		l.tokens -= n
		return true, false
	}
	if l.overSince.IsZero() || now.Sub(l.lastOver) > gap {
		l.overSince = now
	}
	l.lastOver = now
	return false, now.Sub(l.overSince) >= l.sustain
}

// Tokens is what the bucket holds at its last Take.
func (l *Limiter) Tokens() float64 { return l.tokens }

package core

import "time"

// SeriesLen is how many samples a net graph series keeps: ten seconds at ten
// samples a second.
const SeriesLen = 100

// Series is a fixed ring of samples for a live plot, oldest first when read
// with At.
type Series struct {
	vals [SeriesLen]float64
	n    int
	next int
}

// Add appends a sample, dropping the oldest when full.
func (s *Series) Add(v float64) {
	s.vals[s.next] = v
	s.next = (s.next + 1) % SeriesLen
	s.n = min(s.n+1, SeriesLen)
}

// Len is the number of samples held.
func (s *Series) Len() int { return s.n }

// At returns the i-th oldest sample.
func (s *Series) At(i int) float64 { return s.vals[(s.next-s.n+i+SeriesLen)%SeriesLen] }

// Last returns the newest sample, 0 when empty.
func (s *Series) Last() float64 {
	if s.n == 0 {
		return 0
	}
	return s.At(s.n - 1)
}

// Max returns the largest sample, 0 when empty.
func (s *Series) Max() float64 {
	m := 0.0
	for i := range s.n {
		m = max(m, s.At(i))
	}
	return m
}

// NetStats is what the net graph shows. Values are the latest; the Series
// hold their recent history (sampled ten times a second).
type NetStats struct {
	Transport          string        // "ws" or "poll"; "reconnecting" while the transport is down, "none" before connecting
	Link               string        // the link conditioner's settings, "" when off
	RTT                time.Duration // round trip of a Ping through the server
	Jitter             time.Duration // snapshot interarrival jitter (RFC 3550)
	SnapshotRate       float64       // snapshots per second received
	DownBps, UpBps     float64       // frame payload bytes per second
	Corrections        uint64        // own-player predictions the server disagreed with
	PredictionChecks   uint64        // own-player predictions compared
	CorrectionsPerMin  float64       // over the whole membership
	InterpDelay        time.Duration // how far in the past others are drawn
	BufferDepth        time.Duration // newest state minus render time: buffer left
	BufferStates       int           // states held ahead of the render time
	DryFrames          uint64        // frames the interpolation buffer ran dry
	InterpFrames       uint64        // frames interpolated (with two states or more)
	PendingInputs      int           // inputs sent that the newest snapshot has not applied
	RTTms, JitterMs    Series
	SnapRate           Series
	Down, Up           Series
	CorrectionsSeries  Series // corrections per second
	DepthMs, InterpMs  Series
	PendingSeries      Series
	sampledAt          time.Time
	lastIn, lastOut    uint64
	lastSnaps          uint64
	lastCorrections    uint64
	snaps              uint64
	membershipStart    time.Time
	correctionsAtStart uint64
}

// sample refreshes the rates and the series about ten times a second.
func (n *NetStats) sample(now time.Time, bytesIn, bytesOut uint64) {
	if n.sampledAt.IsZero() {
		n.sampledAt, n.lastIn, n.lastOut, n.lastSnaps, n.lastCorrections = now, bytesIn, bytesOut, n.snaps, n.Corrections
		return
	}
	dt := now.Sub(n.sampledAt).Seconds()
	if dt < 0.1 {
		return
	}
	n.DownBps = float64(bytesIn-n.lastIn) / dt
	n.UpBps = float64(bytesOut-n.lastOut) / dt
	n.SnapshotRate = float64(n.snaps-n.lastSnaps) / dt
	n.RTTms.Add(float64(n.RTT) / float64(time.Millisecond))
	n.JitterMs.Add(float64(n.Jitter) / float64(time.Millisecond))
	n.SnapRate.Add(n.SnapshotRate)
	n.Down.Add(n.DownBps)
	n.Up.Add(n.UpBps)
	n.CorrectionsSeries.Add(float64(n.Corrections-n.lastCorrections) / dt)
	n.DepthMs.Add(float64(n.BufferDepth) / float64(time.Millisecond))
	n.InterpMs.Add(float64(n.InterpDelay) / float64(time.Millisecond))
	n.PendingSeries.Add(float64(n.PendingInputs))
	n.sampledAt, n.lastIn, n.lastOut, n.lastSnaps, n.lastCorrections = now, bytesIn, bytesOut, n.snaps, n.Corrections
	if mins := now.Sub(n.membershipStart).Minutes(); !n.membershipStart.IsZero() && mins > 0 {
		n.CorrectionsPerMin = float64(n.Corrections-n.correctionsAtStart) / mins
	}
}

package client

import (
	"context"
	"errors"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/pollconn"
)

// PollOptions configure the long-polling transport and the automatic
// choice. Zero fields take defaults.
type PollOptions struct {
	pollconn.DialOptions
	// UpgradeTimeout bounds the WebSocket attempt of "auto" before it falls
	// back to polling (a proxy that neither refuses nor completes the
	// upgrade). Default 3 s.
	UpgradeTimeout time.Duration
	// ProbeMin and ProbeMax space the background WebSocket attempts of an
	// "auto" session on polling (exponential backoff with jitter between
	// them). Default 1 s and 30 s.
	ProbeMin, ProbeMax time.Duration
}

func (o PollOptions) upgradeTimeout() time.Duration {
	if o.UpgradeTimeout <= 0 {
		return 3 * time.Second
	}
	return o.UpgradeTimeout
}

func dialPoll(ctx context.Context, cfg Config, onFrame func([]byte), onClose func(error)) (transport, error) {
	endpoint, err := pollconn.URLFromWS(cfg.URL)
	if err != nil {
		return nil, err
	}
	opt := cfg.Poll.DialOptions
	if opt.LatestInterval == 0 {
		// Input batches at most every 20 ms: about a sixth fewer POSTs than one
		// per tick (each POST is a request for the server to parse), for about
		// a quarter tick of added input latency on average.
		opt.LatestInterval = 20 * time.Millisecond
	}
	return pollconn.Dial(ctx, endpoint, opt, onFrame, onClose)
}

// probeUpgrade runs while an "auto" session is on polling: it tries
// WebSocket now and then, and when the upgrade completes it resumes the
// session there (same seat, nothing lost) and polling stops. It exits
// after an upgrade, when the session is no longer on polling, or when it
// ends.
func (c *Conn) probeUpgrade() {
	b := Backoff{Min: c.cfg.Poll.ProbeMin, Max: c.cfg.Poll.ProbeMax}
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	for n := 0; ; n++ {
		c.mu.Lock()
		wait := b.Delay(n, c.rnd)
		c.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-time.After(wait):
		}
		if c.Transport() != "poll" {
			return
		}
		if c.tryUpgrade() {
			return
		}
	}
}

// tryUpgrade makes one WebSocket attempt; it reports whether the session
// moved to it.
func (c *Conn) tryUpgrade() bool {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	if c.Transport() != "poll" {
		return true
	}
	c.mu.Lock()
	hello := c.hello()
	hello.ResumeToken, hello.LastSeq, hello.LastTick = c.token, c.lastSeq, c.ackTick
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Poll.upgradeTimeout())
	defer cancel()
	_, err := c.connectWith(ctx, hello, "ws")
	var pe *netcode.Error
	if errors.As(err, &pe) {
		return true // refused by the server: the session is over or moved; nothing to probe for
	}
	if err == nil {
		c.upgrades.Add(1)
	}
	return err == nil
}

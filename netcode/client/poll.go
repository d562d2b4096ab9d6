package client

import (
	"context"
	"errors"
	"time"
)

// PollOptions configure the long-polling transport. Zero fields take
// defaults.
type PollOptions struct {
	// UpgradeTimeout bounds the WebSocket attempt of "auto" before it falls
	// back to polling. Default 3 s.
	UpgradeTimeout time.Duration
}

func (o PollOptions) upgradeTimeout() time.Duration {
	if o.UpgradeTimeout <= 0 {
		return 3 * time.Second
	}
	return o.UpgradeTimeout
}

func dialPoll(context.Context, Config, func([]byte), func(error)) (transport, error) {
	return nil, errors.New("client: long-polling is not available yet")
}

func (c *Conn) probeUpgrade() {}

//go:build !js

package pollconn

import (
	"net"
	"net/http"
	"time"
)

// newTransport is the HTTP transport of one channel: its own connections
// (a long-poll GET and a POST at a time), dialled with opt.DialContext.
func newTransport(opt DialOptions) *http.Transport {
	dial := opt.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: 60 * time.Second,
		ResponseHeaderTimeout: opt.PollTimeout}
}

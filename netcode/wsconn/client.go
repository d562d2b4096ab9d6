package wsconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DialOptions configure a client connection. Zero fields take defaults.
type DialOptions struct {
	// MaxMessage is the largest frame accepted from the server. Default 1 MiB
	// (a full snapshot of a big room is a few KiB).
	MaxMessage int
	// HandshakeTimeout bounds the TCP dial plus the upgrade. Default 5 s.
	HandshakeTimeout time.Duration
	// ReadTimeout gives up on a server that sent nothing (not even a ping)
	// for this long. Default 15 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds one Send. Default 2 s.
	WriteTimeout time.Duration
	// Header is added to the upgrade request.
	Header http.Header
	// DialContext opens the TCP connection; nil means a net.Dialer. A link
	// conditioner plugs in here.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o *DialOptions) fill() {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Second
	}
	if o.DialContext == nil {
		o.DialContext = (&net.Dialer{}).DialContext
	}
}

// ErrUpgradeRefused means the server (or a proxy) answered the upgrade
// request with something other than 101 Switching Protocols.
var ErrUpgradeRefused = errors.New("wsconn: websocket upgrade refused")

// CloseError reports the close frame the server sent.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsconn: closed by server: %d %s", e.Code, e.Reason)
}

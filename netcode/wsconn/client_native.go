//go:build !js

package wsconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// ClientConn is a client's WebSocket connection. Send and Close are safe for
// concurrent use.
type ClientConn struct {
	opt       DialOptions
	socket    *gws.Conn
	closeOnce sync.Once
	done      chan struct{}
	err       error // set before done closes

	peerClose atomic.Pointer[CloseError] // the close frame the server sent, if any
}

// Dial connects to a ws:// or wss:// URL and starts reading: onFrame gets
// each binary message (data valid only during the call) on the read
// goroutine, and onClose is called once when the connection ends.
func Dial(ctx context.Context, rawURL string, opt DialOptions, onFrame func([]byte), onClose func(error)) (*ClientConn, error) {
	opt.fill()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wsconn: bad url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("wsconn: url scheme %q is not ws or wss", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, opt.HandshakeTimeout)
	defer cancel()
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"ws": "80", "wss": "443"}[u.Scheme])
	}
	netConn, err := opt.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("wsconn: dial: %w", err)
	}
	if u.Scheme == "wss" {
		netConn = tlsClient(netConn, u.Hostname())
	}
	handshake := opt.HandshakeTimeout
	if dl, ok := ctx.Deadline(); ok {
		_ = netConn.SetDeadline(dl)
		handshake = max(time.Until(dl), time.Millisecond) // gws sets its own deadline from this
	}
	socket, resp, err := gws.NewClientFromConn(events{}, &gws.ClientOption{
		Addr: rawURL, RequestHeader: opt.Header, ReadMaxPayloadSize: opt.MaxMessage,
		HandshakeTimeout: handshake, Logger: discardLogger{},
	}, netConn)
	if err != nil {
		_ = netConn.Close()
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("%w: HTTP %d", ErrUpgradeRefused, resp.StatusCode)
		}
		return nil, fmt.Errorf("wsconn: handshake: %w", err)
	}
	_ = netConn.SetDeadline(time.Time{})
	c := &ClientConn{opt: opt, socket: socket, done: make(chan struct{})}
	socket.Session().Store(sessionKey, c)
	_ = socket.SetReadDeadline(time.Now().Add(opt.ReadTimeout))
	go c.readLoop(onFrame, onClose)
	return c, nil
}

// readLoop runs until the connection ends; it owns calling onClose.
func (c *ClientConn) readLoop(onFrame func([]byte), onClose func(error)) {
	var err error
	for {
		msg, rerr := c.socket.ReadMessage()
		if rerr != nil {
			err = rerr
			break
		}
		_ = c.socket.SetReadDeadline(time.Now().Add(c.opt.ReadTimeout))
		if msg.Opcode == gws.OpcodeBinary {
			onFrame(msg.Bytes())
		}
		_ = msg.Close()
	}
	_ = c.socket.NetConn().Close()
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		err = &CloseError{Code: ce.Code, Reason: string(ce.Reason)}
	} else if pc := c.peerClose.Load(); pc != nil {
		err = pc // gws reports a received close frame to OnClose only
	}
	c.err = err
	close(c.done)
	if onClose != nil {
		onClose(err)
	}
}

// OnClose records the close frame a server sent: gws's ReadMessage
// returns a generic error for it and hands the frame to this event.
func (events) OnClose(socket *gws.Conn, err error) {
	v, ok := socket.Session().Load(sessionKey)
	if !ok {
		return
	}
	var ce *gws.CloseError
	if c, isClient := v.(*ClientConn); isClient && errors.As(err, &ce) {
		c.peerClose.Store(&CloseError{Code: ce.Code, Reason: string(ce.Reason)})
	}
}

// Send writes one binary frame, blocking up to the write timeout.
func (c *ClientConn) Send(frame []byte) error {
	_ = c.socket.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	return c.socket.WriteMessage(gws.OpcodeBinary, frame)
}

// Close sends a normal close frame and closes the connection.
func (c *ClientConn) Close() error {
	c.closeOnce.Do(func() {
		_ = c.socket.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.socket.WriteClose(1000, nil)
		_ = c.socket.NetConn().Close()
	})
	return nil
}

// Done is closed when the connection has ended; Err then tells why.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is open).
func (c *ClientConn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

//go:build js

package wsconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"syscall/js"
	"time"
)

// In a browser the connection is the page's own WebSocket object: the
// browser does the TCP connection, TLS, the upgrade and the ping/pong, and
// sends the page's Origin. DialOptions.Header and DialContext do not apply
// there (a page cannot set upgrade headers or open sockets).

// inboxFrames bounds the frames the browser has delivered that the read
// goroutine has not handed on yet. The browser calls onmessage on its event
// loop, which must never wait for Go code that might itself wait for the
// event loop (a fetch, another socket's send): so the callback only copies
// the frame into this queue. A server that outruns the read goroutine by
// this many frames ends the connection with ErrInboxFull.
const inboxFrames = 1024

// maxBuffered is how many bytes Send lets the browser hold unsent before it
// fails: the browser's send buffer has no bound of its own.
const maxBuffered = 1 << 20

var (
	// ErrInboxFull means the server sent frames faster than the page
	// handled them, past inboxFrames.
	ErrInboxFull = errors.New("wsconn: too many frames waiting to be handled")
	// ErrSendBuffer means the browser holds more than 1 MiB unsent: the
	// connection is stuck.
	ErrSendBuffer = errors.New("wsconn: browser send buffer full")
	// errClosed is the reason of a connection this side closed.
	errClosed = errors.New("wsconn: connection closed")
)

// ClientConn is a client's WebSocket connection on the browser's WebSocket
// object. Send and Close are safe for concurrent use.
type ClientConn struct {
	opt    DialOptions
	ws     js.Value
	funcs  []js.Func   // released when the connection has ended
	frames chan []byte // onmessage → read goroutine, at most inboxFrames

	mu      sync.Mutex // guards the fields below
	opened  bool
	endErr  error
	ended   chan struct{} // closed by end: the socket is gone
	scratch js.Value      // Send's reusable Uint8Array

	done chan struct{} // closed after onClose ran
	err  error         // set before done closes
}

// Dial connects to a ws:// or wss:// URL with the browser's WebSocket and
// starts reading: onFrame gets each binary message (data valid only during
// the call) on the read goroutine, and onClose is called once when the
// connection ends. A socket that closes before it opens (the upgrade was
// refused, or nothing answered) is ErrUpgradeRefused: the browser does not
// tell the page the HTTP status.
func Dial(ctx context.Context, rawURL string, opt DialOptions, onFrame func([]byte), onClose func(error)) (*ClientConn, error) {
	opt.fill()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wsconn: bad url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("wsconn: url scheme %q is not ws or wss", u.Scheme)
	}
	ctor := js.Global().Get("WebSocket")
	if ctor.IsUndefined() {
		return nil, errors.New("wsconn: this JavaScript host has no WebSocket")
	}
	ctx, cancel := context.WithTimeout(ctx, opt.HandshakeTimeout)
	defer cancel()
	c := &ClientConn{opt: opt, frames: make(chan []byte, inboxFrames), ended: make(chan struct{}), done: make(chan struct{})}
	if err := c.open(ctor, rawURL); err != nil {
		return nil, err
	}
	opened := make(chan struct{})
	c.on("open", func(js.Value) {
		c.mu.Lock()
		c.opened = true
		c.mu.Unlock()
		close(opened)
	})
	c.on("message", c.onMessage)
	c.on("close", func(ev js.Value) {
		code, reason := uint16(ev.Get("code").Int()), ev.Get("reason").String()
		c.mu.Lock()
		opened := c.opened
		c.mu.Unlock()
		if !opened {
			c.end(fmt.Errorf("%w: the browser's WebSocket closed before it opened (code %d)", ErrUpgradeRefused, code))
			return
		}
		c.end(&CloseError{Code: code, Reason: reason})
	})
	select {
	case <-opened:
	case <-c.ended:
		c.release()
		return nil, c.endErr
	case <-ctx.Done():
		c.ws.Call("close")
		c.end(fmt.Errorf("wsconn: handshake: %w", ctx.Err()))
		c.release()
		return nil, c.endErr
	}
	go c.readLoop(onFrame, onClose) // exits when the connection has ended
	return c, nil
}

// open creates the WebSocket; the constructor throws on a bad address.
func (c *ClientConn) open(ctor js.Value, rawURL string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wsconn: %v", r)
		}
	}()
	c.ws = ctor.New(rawURL)
	c.ws.Set("binaryType", "arraybuffer")
	return nil
}

// on sets the socket's onNAME handler to f.
func (c *ClientConn) on(name string, f func(ev js.Value)) {
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := js.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		f(ev)
		return nil
	})
	c.funcs = append(c.funcs, fn)
	c.ws.Set("on"+name, fn)
}

// onMessage runs on the browser's event loop: it copies a binary frame into
// the inbox and returns at once.
func (c *ClientConn) onMessage(ev js.Value) {
	data := ev.Get("data")
	if !data.InstanceOf(js.Global().Get("ArrayBuffer")) {
		return // a text frame: the protocol has none
	}
	n := data.Get("byteLength").Int()
	if n > c.opt.MaxMessage {
		c.ws.Call("close", 1000, "message too big")
		c.end(fmt.Errorf("wsconn: a %d-byte message is over the %d-byte limit", n, c.opt.MaxMessage))
		return
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(data))
	select {
	case c.frames <- b:
	default:
		c.ws.Call("close", 1000, "client overwhelmed")
		c.end(ErrInboxFull)
	}
}

// end records why the socket is gone, once.
func (c *ClientConn) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
		return
	default:
	}
	c.endErr = err
	close(c.ended)
}

// release drops the socket's handlers and frees their functions.
func (c *ClientConn) release() {
	for _, n := range []string{"onopen", "onmessage", "onclose"} {
		c.ws.Set(n, js.Null())
	}
	for _, f := range c.funcs {
		f.Release()
	}
	c.funcs = nil
}

// readLoop hands frames to onFrame until the connection ends, then the
// frames still queued, then calls onClose. It gives up on a server that
// sent nothing for ReadTimeout (the browser answers pings by itself and
// does not show them, so the server's heartbeats are what count).
func (c *ClientConn) readLoop(onFrame func([]byte), onClose func(error)) {
	check := time.NewTicker(c.opt.ReadTimeout / 4)
	defer check.Stop()
	last := time.Now()
loop:
	for {
		select {
		case b := <-c.frames:
			last = time.Now()
			onFrame(b)
		case <-check.C:
			if time.Since(last) > c.opt.ReadTimeout {
				c.ws.Call("close", 1000)
				c.end(fmt.Errorf("wsconn: nothing received for %v", c.opt.ReadTimeout))
			}
		case <-c.ended:
			break loop
		}
	}
	for {
		select {
		case b := <-c.frames:
			onFrame(b)
			continue
		default:
		}
		break
	}
	c.mu.Lock()
	c.err = c.endErr
	c.mu.Unlock()
	c.release()
	close(c.done)
	if onClose != nil {
		onClose(c.err)
	}
}

// Send hands one binary frame to the browser, which sends it in the
// background; it fails at once when the socket is not open or the browser
// holds more than 1 MiB unsent.
func (c *ClientConn) Send(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
		return c.endErr
	default:
	}
	if c.ws.Get("readyState").Int() != 1 {
		return errClosed
	}
	if c.ws.Get("bufferedAmount").Int() > maxBuffered {
		return ErrSendBuffer
	}
	if c.scratch.IsUndefined() || c.scratch.Get("length").Int() < len(frame) {
		c.scratch = js.Global().Get("Uint8Array").New(max(len(frame), 4096))
	}
	js.CopyBytesToJS(c.scratch, frame)
	c.ws.Call("send", c.scratch.Call("subarray", 0, len(frame)))
	return nil
}

// Close sends a normal close frame; the connection ends at once.
func (c *ClientConn) Close() error {
	c.ws.Call("close", 1000)
	c.end(errClosed)
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

package pollconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// DialOptions configure a client channel. Zero fields take defaults.
type DialOptions struct {
	// MaxMessage is the largest frame accepted from the server. Default
	// 1 MiB.
	MaxMessage int
	// MaxBody is the largest POST body the client sends (the server's
	// limit). Default 16 KiB.
	MaxBody int
	// RequestTimeout bounds opening the channel and each POST. Default 5 s.
	RequestTimeout time.Duration
	// PollTimeout bounds one GET: the server's wait plus a margin. Default
	// 30 s.
	PollTimeout time.Duration
	// SendQueue bounds frames waiting to be POSTed; Send fails past it.
	// Default 1024.
	SendQueue int
	// LatestInterval spaces POSTs that carry only a SendLatest frame (input
	// batches): such a frame waits until this long after the previous POST,
	// and a newer one replaces it meanwhile. A Send frame goes at once and
	// takes the waiting one along. Every POST is an HTTP request for the
	// server to parse; 0 posts each at once.
	LatestInterval time.Duration
	// Header is added to every request.
	Header http.Header
	// DialContext opens TCP connections; nil means a net.Dialer. In a
	// browser (GOOS=js) requests go through fetch and this is not used.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o *DialOptions) fill() {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 16 << 10
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = 30 * time.Second
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 1024
	}
}

// URLFromWS derives the polling endpoint from a WebSocket URL: ws:// becomes
// http://, wss:// https://, and a last path element "ws" becomes "poll"
// (any other path gets "/poll" appended). http(s) URLs are kept as they are.
func URLFromWS(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("pollconn: bad url: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
		return u.String(), nil
	default:
		return "", fmt.Errorf("pollconn: url scheme %q is not ws, wss, http or https", u.Scheme)
	}
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, "/ws") || p == "ws" {
		u.Path = strings.TrimSuffix(p, "ws") + "poll"
	} else {
		u.Path = p + "/poll"
	}
	u.RawQuery = ""
	return u.String(), nil
}

// ErrClosed is returned by Send after the channel closed.
var ErrClosed = errors.New("pollconn: channel closed")

// ErrQueueFull is returned by Send when SendQueue frames wait already.
var ErrQueueFull = errors.New("pollconn: send queue full")

// ClientConn is a client's long-polling channel. Send and Close are safe
// for concurrent use.
type ClientConn struct {
	opt     DialOptions
	base    string // endpoint with ?sid=
	http    *http.Client
	ctx     context.Context
	cancel  context.CancelFunc
	onFrame func([]byte)
	onClose func(error)

	mu      sync.Mutex // guards queue, latest, closed, err
	queue   [][]byte
	latest  int           // index in queue of the frame SendLatest may replace, or -1
	wake    chan struct{} // capacity 1: frames queued
	closed  bool
	err     error
	done    chan struct{}
	wg      sync.WaitGroup
	endOnce sync.Once
}

// Dial opens a channel at endpoint (an http(s) URL, see URLFromWS) and
// starts polling: onFrame gets each server frame (data valid only during
// the call) on the polling goroutine, and onClose is called once when the
// channel ends.
func Dial(ctx context.Context, endpoint string, opt DialOptions, onFrame func([]byte), onClose func(error)) (*ClientConn, error) {
	opt.fill()
	tr := newTransport(opt)
	hc := &http.Client{Transport: tr}
	rctx, cancel := context.WithTimeout(ctx, opt.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("pollconn: %w", err)
	}
	addHeader(req, opt.Header)
	resp, err := hc.Do(req)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("pollconn: open: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	id, key := resp.Header.Get(HeaderID), resp.Header.Get(HeaderKey)
	if resp.StatusCode != http.StatusCreated || id == "" {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("pollconn: open: %w", responseError(resp, nil))
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	// The channel's key goes in a header of every request, never in the
	// address (which proxies log).
	opt.Header = opt.Header.Clone()
	if opt.Header == nil {
		opt.Header = http.Header{}
	}
	opt.Header.Set(HeaderKey, key)
	c := &ClientConn{opt: opt, base: endpoint + sep + "sid=" + url.QueryEscape(id), http: hc, latest: -1,
		onFrame: onFrame, onClose: onClose, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Go(c.pollLoop)
	c.wg.Go(c.sendLoop)
	return c, nil
}

func addHeader(req *http.Request, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}

// responseError describes a refused request: a *netcode.Error when the
// server named a protocol error code, else the status and text.
func responseError(resp *http.Response, body []byte) error {
	text := strings.TrimSpace(string(body))
	if n, err := strconv.Atoi(resp.Header.Get(HeaderErrorCode)); err == nil && n > 0 {
		return &netcode.Error{Code: sessionpb.ErrorCode(n), Message: text, Fatal: true}
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, text)
}

// Send queues one frame; a goroutine POSTs queued frames, several per
// request, one request at a time.
func (c *ClientConn) Send(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if len(c.queue) >= c.opt.SendQueue {
		return ErrQueueFull
	}
	c.queue = append(c.queue, append([]byte(nil), frame...))
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// SendLatest queues frame like Send, but replaces the frame of the previous
// SendLatest call if that one is still waiting: for frames that supersede
// their predecessors (input batches carry the newest inputs), so a slow
// round trip sends one fresh frame instead of a backlog.
func (c *ClientConn) SendLatest(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.latest >= 0 {
		c.queue[c.latest] = append(c.queue[c.latest][:0], frame...)
		return nil
	}
	if len(c.queue) >= c.opt.SendQueue {
		return ErrQueueFull
	}
	c.latest = len(c.queue)
	c.queue = append(c.queue, append([]byte(nil), frame...))
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close closes the channel: it lets frames already queued go out (for up
// to half a second), then tells the server with DELETE. The polling
// goroutines exit soon after; Close does not wait for them, so it may be
// called from onFrame.
func (c *ClientConn) Close() error {
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); {
		c.mu.Lock()
		n, closed := len(c.queue), c.closed
		c.mu.Unlock()
		if n == 0 || closed {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.end(nil, true)
	return nil
}

// end stops the channel once; err is what onClose receives.
func (c *ClientConn) end(err error, tellServer bool) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.err = err
		c.mu.Unlock()
		c.cancel()
		if tellServer {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if req, rerr := http.NewRequestWithContext(ctx, http.MethodDelete, c.base, nil); rerr == nil {
				addHeader(req, c.opt.Header)
				if resp, derr := c.http.Do(req); derr == nil {
					resp.Body.Close()
				}
			}
			cancel()
		}
		close(c.done)
		go func() {
			c.wg.Wait()
			c.http.CloseIdleConnections()
			if c.onClose != nil {
				c.onClose(err)
			}
		}()
	})
}

// Done is closed when the channel has ended.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// pollLoop runs GETs back to back until the channel ends.
func (c *ClientConn) pollLoop() {
	for {
		ctx, cancel := context.WithTimeout(c.ctx, c.opt.PollTimeout)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base, nil)
		addHeader(req, c.opt.Header)
		resp, err := c.http.Do(req)
		if err != nil {
			cancel()
			c.end(fmt.Errorf("pollconn: poll: %w", err), false)
			return
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.opt.MaxMessage)*4+64<<10))
		resp.Body.Close()
		cancel()
		if err != nil {
			c.end(fmt.Errorf("pollconn: poll: %w", err), false)
			return
		}
		if resp.StatusCode == http.StatusConflict {
			// The previous GET's handler has written its answer but not yet
			// returned (its next request came on another connection): ask
			// again in a moment.
			select {
			case <-time.After(2 * time.Millisecond):
				continue
			case <-c.done:
				return
			}
		}
		if resp.StatusCode != http.StatusOK {
			c.end(responseError(resp, body), false)
			return
		}
		frames, err := Split(body)
		if err != nil {
			c.end(fmt.Errorf("pollconn: poll: %w", err), false)
			return
		}
		for _, f := range frames {
			c.onFrame(f)
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// sendLoop POSTs queued frames until the channel ends.
func (c *ClientConn) sendLoop() {
	var body []byte
	var lastPost time.Time
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			onlyLatest := len(c.queue) == 1 && c.latest == 0
			c.mu.Unlock()
			if wait := c.opt.LatestInterval - time.Since(lastPost); onlyLatest && wait > 0 {
				select {
				case <-time.After(wait):
				case <-c.wake: // a frame to send at once, or a newer latest
				case <-c.done:
					return
				}
				continue
			}
			c.mu.Lock()
			body = body[:0]
			n := 0
			for n < len(c.queue) && (n == 0 || len(body)+len(c.queue[n])+5 <= c.opt.MaxBody) {
				body = Append(body, c.queue[n])
				n++
			}
			if c.latest >= 0 && c.latest < n {
				c.latest = -1 // in this body: a later SendLatest queues anew
			}
			c.mu.Unlock()
			if n == 0 {
				break
			}
			lastPost = time.Now()
			retry, err := c.post(body)
			if err != nil {
				c.end(err, false)
				return
			}
			if retry {
				select {
				case <-time.After(50 * time.Millisecond):
					continue
				case <-c.done:
					return
				}
			}
			c.mu.Lock()
			k := copy(c.queue, c.queue[n:])
			clear(c.queue[k:])
			c.queue = c.queue[:k]
			if c.latest >= 0 {
				c.latest -= n
			}
			c.mu.Unlock()
		}
	}
}

// post sends one body; retry means the server asked to slow down.
func (c *ClientConn) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opt.RequestTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base, bytes.NewReader(body))
	req.Header.Set("Content-Type", ContentType)
	addHeader(req, c.opt.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("pollconn: send: %w", err)
	}
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusConflict:
		return true, nil
	case resp.StatusCode/100 != 2:
		return false, responseError(resp, text)
	}
	return false, nil
}

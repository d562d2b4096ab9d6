// Package linkcond is a link conditioner: a net.Conn wrapper that makes a
// fast loopback connection behave like a bad network, on the side that
// wraps it. Bytes written are held back by half the configured round-trip
// latency plus jitter and paced to a bandwidth cap before they reach the
// real connection; bytes read are held back the same way before Read
// returns them. Order is kept, as TCP keeps it: a chunk that draws a long
// delay holds back the chunks behind it.
//
// It exists so that anyone can feel and test a slow, jittery link on one
// machine without root or `tc netem`: the desktop client and the bots take
// -lag, -jitter and -bandwidth flags that plug it into
// wsconn.DialOptions.DialContext.
//
// linkcond imports only the standard library.
package linkcond

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"
)

// Config describes the link. The zero value adds nothing (but still goes
// through the conditioner's queues; see Active).
type Config struct {
	// Latency is the round-trip time added: half on the way out, half on the
	// way back. Default 0.
	Latency time.Duration
	// Jitter varies each chunk's one-way delay uniformly within ±Jitter
	// around Latency/2 (never below zero), like netem's "delay D J". Because
	// order is kept, a late chunk delays the ones queued behind it. Default 0.
	Jitter time.Duration
	// Bandwidth caps each direction at this many bytes per second; a chunk
	// takes len/Bandwidth to leave before its delay starts. Default 0
	// (unlimited).
	Bandwidth int
	// Buffer bounds the bytes held in each direction. A Write blocks (up to
	// its deadline) while the outgoing queue is full, and the connection
	// stops reading from the network while the incoming one is. Default
	// 1 MiB.
	Buffer int
	// Linger bounds how long Close waits for queued outgoing bytes to be
	// delivered before it cuts the connection. Default 2 s.
	Linger time.Duration
	// Seed seeds the jitter; the same seed gives the same delays for the
	// same sequence of chunks. Default 1.
	Seed uint64
}

// ErrConfig is returned by Validate for impossible settings.
var ErrConfig = errors.New("linkcond: invalid config")

// Validate rejects negative values.
func (c Config) Validate() error {
	if c.Latency < 0 || c.Jitter < 0 || c.Bandwidth < 0 || c.Buffer < 0 || c.Linger < 0 {
		return fmt.Errorf("%w: latency, jitter, bandwidth, buffer and linger must not be negative", ErrConfig)
	}
	return nil
}

// Active reports whether the link adds anything; callers skip wrapping when
// it does not.
func (c Config) Active() bool { return c.Latency > 0 || c.Jitter > 0 || c.Bandwidth > 0 }

func (c *Config) fill() {
	if c.Buffer <= 0 {
		c.Buffer = 1 << 20
	}
	if c.Linger <= 0 {
		c.Linger = 2 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
}

// DialFunc is the shape of net.Dialer.DialContext (and of
// wsconn.DialOptions.DialContext).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer returns a DialFunc that dials with base (a net.Dialer when nil) and
// wraps the connection with cfg. Each connection gets its own random source,
// seeded from cfg.Seed and a counter, so runs are reproducible.
func Dialer(cfg Config, base DialFunc) DialFunc {
	if base == nil {
		base = (&net.Dialer{}).DialContext
	}
	var mu sync.Mutex
	n := uint64(0)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		n++
		conf := cfg
		conf.Seed = cfg.Seed*1_000_003 + n
		mu.Unlock()
		return Wrap(c, conf), nil
	}
}

// Conn is a conditioned connection. Its methods are safe for concurrent use,
// like any net.Conn. It owns two goroutines (one per direction); both exit
// when Close returns.
type Conn struct {
	raw  net.Conn
	cfg  Config
	out  *lane // Write → the network
	in   *lane // the network → Read
	once sync.Once
	wg   sync.WaitGroup
	sent chan struct{} // closed when sendLoop has written everything (or gave up)
}

// Wrap conditions conn with cfg. Closing the returned Conn closes conn.
func Wrap(conn net.Conn, cfg Config) *Conn {
	cfg.fill()
	c := &Conn{raw: conn, cfg: cfg,
		out:  newLane(cfg, rand.New(rand.NewPCG(cfg.Seed, 1))),
		in:   newLane(cfg, rand.New(rand.NewPCG(cfg.Seed, 2))),
		sent: make(chan struct{}),
	}
	c.wg.Add(2)
	go c.sendLoop()
	go c.recvLoop()
	return c
}

// sendLoop delivers queued outgoing chunks to the network when they are
// due. It exits when the outgoing lane is closed and drained, or aborted, or
// a network write fails.
func (c *Conn) sendLoop() {
	defer c.wg.Done()
	defer close(c.sent)
	for {
		data, err := c.out.next()
		if err != nil {
			return
		}
		if _, err := c.raw.Write(data); err != nil {
			c.out.abort(err)
			return
		}
	}
}

// recvLoop reads from the network and queues what arrives; it exits when
// the network read fails (the peer closed, or Close closed the raw
// connection).
func (c *Conn) recvLoop() {
	defer c.wg.Done()
	for {
		buf := make([]byte, 32<<10)
		n, err := c.raw.Read(buf)
		if n > 0 {
			if perr := c.in.push(buf[:n], false); perr != nil {
				return
			}
		}
		if err != nil {
			c.in.close(err)
			return
		}
	}
}

// Read returns bytes that have arrived and served their delay.
func (c *Conn) Read(b []byte) (int, error) { return c.in.read(b) }

// Write queues a copy of b for delayed delivery. It blocks only while the
// outgoing buffer is full, up to the write deadline. An error from an
// earlier delivery to the network is returned by later Writes.
func (c *Conn) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	data := make([]byte, len(b))
	copy(data, b)
	if err := c.out.push(data, true); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close stops accepting writes, waits (up to Config.Linger) for queued
// outgoing bytes to be delivered, closes the underlying connection and waits
// for both of its goroutines to exit. Reads after Close fail with
// net.ErrClosed.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		c.out.close(net.ErrClosed)
		c.in.abort(net.ErrClosed)
		// Wait for the writer to deliver, not just dequeue, the last chunk.
		select {
		case <-c.sent:
		case <-time.After(c.cfg.Linger):
			c.out.abort(net.ErrClosed)
		}
		err = c.raw.Close()
		c.wg.Wait()
	})
	return err
}

// LocalAddr is the underlying connection's.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// RemoteAddr is the underlying connection's.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.in.setDeadline(t)
	c.out.setDeadline(t)
	return nil
}

// SetReadDeadline bounds Read, including a Read already waiting.
func (c *Conn) SetReadDeadline(t time.Time) error { c.in.setDeadline(t); return nil }

// SetWriteDeadline bounds how long Write waits for buffer space.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.out.setDeadline(t); return nil }

// chunk is one write (or one network read) with the time it may be
// delivered.
type chunk struct {
	data []byte
	due  time.Time
}

// lane is one direction: a bounded FIFO of chunks, each released at its due
// time. Producers block while it is full; the consumer blocks until the head
// is due.
type lane struct {
	cfg Config

	mu        sync.Mutex // guards everything below
	rng       *rand.Rand
	q         []chunk
	bytes     int
	busyUntil time.Time // bandwidth: when the link has sent everything queued
	lastDue   time.Time // order: no chunk is due before the one ahead of it
	deadline  time.Time
	closed    bool  // no more pushes; the consumer drains what is queued
	err       error // reported once closed and drained (or at once when aborted)
	aborted   bool
	wake      chan struct{} // closed and replaced on every change
}

func newLane(cfg Config, rng *rand.Rand) *lane {
	return &lane{cfg: cfg, rng: rng, wake: make(chan struct{})}
}

// changed wakes every waiter; mu must be held.
func (l *lane) changed() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// delay draws one chunk's one-way delay; mu must be held.
func (l *lane) delay() time.Duration {
	d := l.cfg.Latency / 2
	if j := l.cfg.Jitter; j > 0 {
		d += time.Duration(l.rng.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// wait blocks until wake is closed, the deadline passes (when limited) or
// until (when non-zero). It returns false when the deadline passed.
func wait(wake <-chan struct{}, deadline, until time.Time, limited bool) bool {
	next := until
	if limited && !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
		next = deadline
	}
	if next.IsZero() {
		<-wake
		return true
	}
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	select {
	case <-wake:
		return true
	case <-t.C:
		return !(limited && !deadline.IsZero() && !time.Now().Before(deadline))
	}
}

// push queues data, blocking while the lane is full (a chunk larger than the
// whole buffer waits for an empty lane). The deadline applies when limited
// (a writer's lane).
func (l *lane) push(data []byte, limited bool) error {
	l.mu.Lock()
	for {
		if l.aborted || l.closed {
			err := l.err
			l.mu.Unlock()
			if err == nil || errors.Is(err, io.EOF) {
				err = net.ErrClosed
			}
			return err
		}
		if l.bytes == 0 || l.bytes+len(data) <= l.cfg.Buffer {
			break
		}
		if limited && !l.deadline.IsZero() && !time.Now().Before(l.deadline) {
			l.mu.Unlock()
			return os.ErrDeadlineExceeded
		}
		wake, dl := l.wake, l.deadline
		l.mu.Unlock()
		wait(wake, dl, time.Time{}, limited)
		l.mu.Lock()
	}
	now := time.Now()
	depart := now
	if bw := l.cfg.Bandwidth; bw > 0 {
		if l.busyUntil.After(depart) {
			depart = l.busyUntil
		}
		depart = depart.Add(time.Duration(int64(len(data)) * int64(time.Second) / int64(bw)))
		l.busyUntil = depart
	}
	due := depart.Add(l.delay())
	if due.Before(l.lastDue) {
		due = l.lastDue
	}
	l.lastDue = due
	l.q = append(l.q, chunk{data: data, due: due})
	l.bytes += len(data)
	l.changed()
	l.mu.Unlock()
	return nil
}

// next takes the whole head chunk once it is due (the send side; no
// deadline). It returns the lane's error once closed and drained.
func (l *lane) next() ([]byte, error) {
	var out []byte
	err := l.take(false, func(c *chunk) int { out = c.data; return len(c.data) })
	return out, err
}

// read copies due bytes into b (the receive side; the read deadline
// applies).
func (l *lane) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n := 0
	err := l.take(true, func(c *chunk) int { n = copy(b, c.data); return n })
	return n, err
}

// take waits for a due head chunk and lets use consume a prefix of it.
func (l *lane) take(limited bool, use func(*chunk) int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.aborted {
			return l.err
		}
		if limited && !l.deadline.IsZero() && !time.Now().Before(l.deadline) {
			return os.ErrDeadlineExceeded
		}
		var until time.Time
		if len(l.q) > 0 {
			head := &l.q[0]
			if !time.Now().Before(head.due) {
				n := use(head)
				head.data = head.data[n:]
				l.bytes -= n
				if len(head.data) == 0 {
					l.q[0] = chunk{}
					l.q = l.q[1:]
				}
				l.changed()
				return nil
			}
			until = head.due
		} else if l.closed {
			return l.err
		}
		wake, dl := l.wake, l.deadline
		l.mu.Unlock()
		wait(wake, dl, until, limited)
		l.mu.Lock()
	}
}

// close lets the consumer drain what is queued, then report err.
func (l *lane) close(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.aborted {
		return
	}
	l.closed, l.err = true, err
	l.changed()
}

// abort drops everything queued; both sides get err at once.
func (l *lane) abort(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.aborted {
		return
	}
	l.aborted, l.err = true, err
	l.q, l.bytes = nil, 0
	l.changed()
}

func (l *lane) setDeadline(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadline = t
	l.changed()
}

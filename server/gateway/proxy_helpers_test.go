package gateway

import (
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// tcpProxy forwards loopback TCP connections to a server and can break
// them the ways networks do: cut (both ends see a reset or EOF) and stall
// (bytes stop flowing, nothing closes). New connections keep working
// unless refuse is set.
type tcpProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	pairs   []*proxyPair
	refuse  bool
	stalled bool
	done    chan struct{} // closed at cleanup: releases stalled copies
	wg      sync.WaitGroup
}

type proxyPair struct {
	a, b    net.Conn
	stalled chan struct{} // closed to stall
	release chan struct{} // the proxy's done
	once    sync.Once
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{t: t, ln: ln, target: target, done: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		close(p.done)
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = a.Close()
			continue
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = a.Close()
			continue
		}
		pair := &proxyPair{a: a, b: b, stalled: make(chan struct{}), release: p.done}
		p.mu.Lock()
		p.pairs = append(p.pairs, pair)
		p.mu.Unlock()
		p.wg.Go(func() { pair.copy(a, b) })
		p.wg.Go(func() { pair.copy(b, a) })
	}
}

// copy forwards src to dst until either closes; once stalled it forwards
// nothing more and holds both sockets open until the proxy's cleanup.
func (pp *proxyPair) copy(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-pp.stalled:
			<-pp.release
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every forwarded connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	pairs := p.pairs
	p.pairs = nil
	p.mu.Unlock()
	for _, pp := range pairs {
		_ = pp.a.Close()
		_ = pp.b.Close()
	}
}

// stall freezes every forwarded connection without closing it. The frozen
// copy goroutines end when the test's cleanup closes the sockets.
func (p *tcpProxy) stall() {
	p.mu.Lock()
	pairs := p.pairs
	p.pairs = nil
	p.stalled = true
	p.mu.Unlock()
	for _, pp := range pairs {
		pp.once.Do(func() { close(pp.stalled) })
	}
}

// setRefuse makes the proxy close new connections at once (true) or
// forward them again (false).
func (p *tcpProxy) setRefuse(refuse bool) {
	p.mu.Lock()
	p.refuse = refuse
	p.mu.Unlock()
}

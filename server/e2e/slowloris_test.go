package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode/pollconn"
)

// TestSlowlorisIsReleased holds hundreds of half-sent upgrade requests and
// dozens of long-polling POSTs whose bodies trickle in against the real
// server binary. Each is released (closed by the server) within the header
// or body timeout, and the server's goroutines return to the baseline.
func TestSlowlorisIsReleased(t *testing.T) {
	const timeout = time.Second
	halfSent, slowPosts := 300, 50
	srv := startServer(t, "-read-header-timeout", timeout.String(), "-body-timeout", timeout.String(),
		"-hello-timeout", timeout.String(), "-max-conns-per-ip", "-1", "-max-http-conns-per-ip", "-1", "-conn-rate-per-ip", "-1")
	goroutines := func() float64 { return scrapeMetrics(t, srv.Addr).value(t, "go_goroutines") }
	baseline := goroutines()

	// Open the polling channels first: a POST body goes to a channel.
	sids, keys := make([]string, slowPosts), make([]string, slowPosts)
	for i := range sids {
		resp, err := noKeepAlive.Post("http://"+srv.Addr+"/poll", pollconn.ContentType, nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		sids[i], keys[i] = resp.Header.Get(pollconn.HeaderID), resp.Header.Get(pollconn.HeaderKey)
	}

	type victim struct {
		c      net.Conn
		start  time.Time
		closed chan time.Duration // how long the server held it
	}
	var victims []*victim
	open := func(prefix string) {
		c, err := net.Dial("tcp", srv.Addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = io.WriteString(c, prefix)
		require.NoError(t, err)
		v := &victim{c: c, start: time.Now(), closed: make(chan time.Duration, 1)}
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(10 * timeout))
			_, _ = io.Copy(io.Discard, c) // until the server closes it (or our deadline)
			v.closed <- time.Since(v.start)
		}()
		victims = append(victims, v)
	}
	for range halfSent {
		open("GET /ws HTTP/1.1\r\nHost: arena\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	}
	var trickle sync.WaitGroup
	stop := make(chan struct{})
	for i, sid := range sids {
		open(fmt.Sprintf("POST /poll?sid=%s HTTP/1.1\r\nHost: arena\r\n%s: %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n",
			sid, pollconn.HeaderKey, keys[i], pollconn.ContentType))
		v := victims[len(victims)-1]
		trickle.Go(func() {
			tk := time.NewTicker(200 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					if _, err := v.c.Write([]byte{0}); err != nil {
						return
					}
				}
			}
		})
	}
	held := goroutines()
	t.Logf("goroutines: baseline %.0f, while %d half-sent requests and %d slow bodies are open %.0f", baseline, halfSent, slowPosts, held)
	assert.Greater(t, held, baseline+float64(halfSent)/2, "the server holds a goroutine per open request")

	slowest := time.Duration(0)
	for i, v := range victims {
		select {
		case d := <-v.closed:
			slowest = max(slowest, d)
			assert.Less(t, d, timeout+time.Second, "request %d released %v after it started (timeout %v)", i, d, timeout)
		case <-time.After(10 * timeout):
			t.Fatalf("request %d was never released", i)
		}
	}
	close(stop)
	trickle.Wait()
	t.Logf("every one released; the slowest after %v", slowest.Round(time.Millisecond))

	// Released channels linger 5 s for a last GET, then go.
	require.Eventually(t, func() bool { return goroutines() <= baseline+2 }, 15*time.Second, 200*time.Millisecond,
		"goroutines back to the baseline (%.0f)", baseline)
	code, _ := get(t, "http://"+srv.Addr+"/healthz")
	assert.Equal(t, http.StatusOK, code, "the server still serves")
}

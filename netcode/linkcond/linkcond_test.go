package linkcond

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arrival is one chunk seen by the far end of a pipe.
type arrival struct {
	at   time.Time
	data []byte
}

// collect reads from c until it fails and reports each read with its time.
func collect(c net.Conn) <-chan []arrival {
	done := make(chan []arrival, 1)
	go func() {
		var got []arrival
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				got = append(got, arrival{time.Now(), bytes.Clone(buf[:n])})
			}
			if err != nil {
				done <- got
				return
			}
		}
	}()
	return done
}

func TestWriteIsDelayedByHalfTheLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 100 * time.Millisecond})
		got := collect(b)
		start := time.Now()
		_, err := c.Write([]byte("hello"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
		_ = b.Close()
		arr := <-got
		require.Len(t, arr, 1)
		assert.Equal(t, "hello", string(arr[0].data))
		assert.Equal(t, 50*time.Millisecond, arr[0].at.Sub(start), "one way is half the round trip")
	})
}

func TestReadIsDelayedByHalfTheLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 80 * time.Millisecond})
		defer c.Close()
		start := time.Now()
		go func() { _, _ = b.Write([]byte("world")) }()
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "world", string(buf[:n]))
		assert.Equal(t, 40*time.Millisecond, time.Since(start))
		_ = b.Close()
	})
}

func TestJitterVariesDelayWithinBoundsAndKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 100 * time.Millisecond, Jitter: 30 * time.Millisecond, Seed: 7})
		got := collect(b)
		sent := map[byte]time.Time{}
		for i := range 200 {
			sent[byte(i)] = time.Now()
			_, err := c.Write([]byte{byte(i)})
			require.NoError(t, err)
			time.Sleep(20 * time.Millisecond)
		}
		require.NoError(t, c.Close())
		_ = b.Close()
		var seq []byte
		var lo, hi time.Duration = time.Hour, 0
		for _, a := range <-got {
			for _, x := range a.data {
				seq = append(seq, x)
				d := a.at.Sub(sent[x])
				lo, hi = min(lo, d), max(hi, d)
			}
		}
		require.Len(t, seq, 200)
		for i := range seq {
			require.Equal(t, byte(i), seq[i], "bytes arrive in order")
		}
		// One way is 50 ms ± 30 ms; waiting behind a late chunk can only add
		// to that, and never past the latest possible arrival.
		assert.GreaterOrEqual(t, lo, 20*time.Millisecond)
		assert.LessOrEqual(t, hi, 80*time.Millisecond)
		assert.Greater(t, hi-lo, 40*time.Millisecond, "the delay should actually vary")
	})
}

func TestBandwidthCapPacesBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Bandwidth: 10_000})
		got := collect(b)
		start := time.Now()
		for range 10 {
			_, err := c.Write(make([]byte, 1000))
			require.NoError(t, err)
		}
		assert.Zero(t, time.Since(start), "writes below the buffer size do not block")
		require.NoError(t, c.Close())
		_ = b.Close()
		arr := <-got
		require.Len(t, arr, 10)
		for i, x := range arr {
			// 1000 bytes at 10 kB/s take 100 ms each, back to back.
			assert.Equal(t, time.Duration(i+1)*100*time.Millisecond, x.at.Sub(start), "chunk %d", i)
		}
	})
}

func TestBufferIsBoundedAndWriteDeadlineHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 2 * time.Second, Buffer: 4096})
		got := collect(b)
		_, err := c.Write(make([]byte, 4096))
		require.NoError(t, err)
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
		start := time.Now()
		_, err = c.Write([]byte{1})
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a full buffer blocks the writer until its deadline")
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.Equal(t, 100*time.Millisecond, time.Since(start))

		// Once the queued bytes leave (after 1 s one way), there is room again.
		require.NoError(t, c.SetWriteDeadline(time.Time{}))
		_, err = c.Write([]byte{2})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, c.Close())
		_ = b.Close()
		total := 0
		for _, x := range <-got {
			total += len(x.data)
		}
		assert.Equal(t, 4097, total)
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: time.Second})
		defer b.Close()
		defer c.Close()
		go func() { _, _ = b.Write([]byte("late")) }()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err := c.Read(make([]byte, 8))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		// Extending the deadline lets the delayed bytes through.
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		buf := make([]byte, 8)
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "late", string(buf[:n]))
	})
}

// TestCloseStopsCleanly: Close delivers what was already written (the bytes
// are "on the wire"), then both goroutines exit; synctest.Test itself fails
// if any goroutine of the bubble were left blocked.
func TestCloseStopsCleanly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 200 * time.Millisecond, Jitter: 20 * time.Millisecond})
		got := collect(b)
		_, err := c.Write([]byte("last words"))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, c.Close())
		assert.LessOrEqual(t, time.Since(start), 120*time.Millisecond, "Close lingers only for bytes in flight")
		arr := <-got // b's read fails once a is closed
		require.Len(t, arr, 1)
		assert.Equal(t, "last words", string(arr[0].data))

		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, net.ErrClosed)
		_, err = c.Write([]byte("x"))
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.NoError(t, c.Close(), "a second Close is harmless")
		_ = b.Close()
	})
}

func TestCloseLingerIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := Wrap(a, Config{Latency: 20 * time.Second, Linger: 500 * time.Millisecond})
		_, err := c.Write([]byte("never delivered"))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, c.Close())
		assert.Equal(t, 500*time.Millisecond, time.Since(start))
	})
}

func TestPeerCloseIsEOFAfterDelayedData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := Wrap(a, Config{Latency: 60 * time.Millisecond})
		defer c.Close()
		go func() {
			_, _ = b.Write([]byte("bye"))
			_ = b.Close()
		}()
		data, err := io.ReadAll(c)
		require.NoError(t, err)
		assert.Equal(t, "bye", string(data))
	})
}

func TestValidate(t *testing.T) {
	assert.NoError(t, Config{}.Validate())
	assert.ErrorIs(t, Config{Latency: -1}.Validate(), ErrConfig)
	assert.ErrorIs(t, Config{Bandwidth: -1}.Validate(), ErrConfig)
	assert.False(t, Config{}.Active())
	assert.True(t, Config{Jitter: time.Millisecond}.Active())
}

// TestRealTCPRoundTrip runs the conditioner on a real loopback socket: an
// echo through a 60 ms link takes at least 60 ms, and every byte comes
// back. (How much more than 60 ms depends on how busy the machine is: the
// exact delays are the synctest tests above, on a fake clock.)
func TestRealTCPRoundTrip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		_, _ = io.Copy(s, s)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dialer(Config{Latency: 60 * time.Millisecond}, nil)(ctx, "tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	for range 3 {
		start := time.Now()
		_, err = c.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		rtt := time.Since(start)
		assert.GreaterOrEqual(t, rtt, 60*time.Millisecond)
		assert.Equal(t, "ping", string(buf))
	}
	require.NoError(t, c.Close())
	_, err = c.Read(make([]byte, 1))
	assert.True(t, errors.Is(err, net.ErrClosed))
}

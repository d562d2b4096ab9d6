//go:build !js

package wsconn

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
)

// echoHandler accepts any frame and answers it with a copy, so the writer
// path runs too.
type echoHandler struct{ link *outbox.Link }

func (h echoHandler) Frame(data []byte) error {
	_ = h.link.Send(append([]byte(nil), data...))
	return nil
}

func (h echoHandler) Reject(e *netcode.Error) { h.link.Close(e.Frame(0), e) }

func (echoHandler) Closed(error) {}

// frameServer serves Upgrader connections on a loopback port.
func frameServer(t testing.TB) string {
	up := NewUpgrader(ServerOptions{
		ReadTimeout: 300 * time.Millisecond, PingInterval: 100 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		link := outbox.NewLink()
		outbox.New(0).Attach(link, 0)
		_ = up.Serve(w, r, link, echoHandler{link})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// FuzzFrames writes arbitrary bytes to a real server connection right after
// the upgrade: whatever arrives (bad lengths, reserved bits and opcodes,
// unmasked or fragmented frames, control floods), the server must not panic
// or hang, and must still serve a well-formed client afterwards.
func FuzzFrames(f *testing.F) {
	seeds := []wstest.Frame{
		{Opcode: wstest.OpBinary, Payload: []byte{1, 2, 3}},
		{Opcode: wstest.OpText, Payload: []byte("hi")},
		{Opcode: wstest.OpBinary, Payload: []byte{1}, RSV: 7},
		{Opcode: 0x3, Payload: []byte{1}},
		{Opcode: wstest.OpBinary, Payload: []byte{1}, Unmasked: true},
		{Opcode: wstest.OpBinary, Payload: []byte{1}, NotFinal: true},
		{Opcode: wstest.OpContinuation, Payload: []byte{1}},
		{Opcode: wstest.OpPing, Payload: make([]byte, 126)},
		{Opcode: wstest.OpClose, Payload: []byte{0x03}},
		{Opcode: wstest.OpBinary, Payload: []byte{1}, Length: ptr(int64(1) << 62)},
		{Opcode: wstest.OpBinary, Payload: make([]byte, 300), Length: ptr(int64(9000))},
	}
	for _, s := range seeds {
		f.Add(s.Encode())
	}
	addr := frameServer(f) // one per fuzzing process
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := wstest.Dial(addr, "/ws")
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Conn.Write(data)
		// The server answers, closes, or times the connection out; it never
		// holds it past its read timeout.
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = io.Copy(io.Discard, c.R)
		require.NoError(t, err, "the server must close a connection it cannot use within its timeouts")

		good, err := wstest.Dial(addr, "/ws")
		require.NoError(t, err, "the server must still accept connections")
		defer good.Close()
		require.NoError(t, good.Binary([]byte{7}))
		m, err := good.Read(2 * time.Second)
		require.NoError(t, err)
		require.Equal(t, []byte{7}, m.Payload)
	})
}

func ptr[T any](v T) *T { return &v }

package wsconn

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/wsconn/wstest"
)

// TestFramesSplitAndJoined: the server's own reader assembles messages
// however the bytes arrive: a frame a byte at a time, several frames in
// one write, a message in fragments with a ping between them, and a frame
// bigger than the first read buffer.
func TestFramesSplitAndJoined(t *testing.T) {
	addr := frameServer(t)
	c, err := wstest.Dial(addr, "/ws")
	require.NoError(t, err)
	defer c.Close()
	echo := func(want []byte) {
		t.Helper()
		for {
			m, err := c.Read(2 * time.Second)
			require.NoError(t, err)
			if m.Opcode == wstest.OpPong {
				continue
			}
			require.Equal(t, byte(wstest.OpBinary), m.Opcode)
			assert.Equal(t, want, m.Payload)
			return
		}
	}

	one := wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte("byte by byte")}.Encode()
	for _, b := range one {
		_, err := c.Conn.Write([]byte{b})
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	echo([]byte("byte by byte"))

	var joined []byte
	for i := range 5 {
		joined = append(joined, wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte{byte(i), 1, 2}}.Encode()...)
	}
	_, err = c.Conn.Write(joined)
	require.NoError(t, err)
	for i := range 5 {
		echo([]byte{byte(i), 1, 2})
	}

	var frags []byte
	frags = append(frags, wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte("frag"), NotFinal: true}.Encode()...)
	frags = append(frags, wstest.Frame{Opcode: wstest.OpPing, Payload: []byte("p")}.Encode()...)
	frags = append(frags, wstest.Frame{Opcode: wstest.OpContinuation, Payload: []byte("men"), NotFinal: true}.Encode()...)
	frags = append(frags, wstest.Frame{Opcode: wstest.OpContinuation, Payload: []byte("ted")}.Encode()...)
	_, err = c.Conn.Write(frags)
	require.NoError(t, err)
	echo([]byte("fragmented"))

	big := bytes.Repeat([]byte{0xab, 0xcd, 0xef}, 1200) // 3600 bytes: past the first buffer, under MaxMessage
	require.NoError(t, c.Binary(big))
	echo(big)
}

// TestProtocolViolationsCloseWithTheirCode: the reader refuses what
// RFC 6455 forbids with close 1002, and a frame over the hard limit with
// 1009 before its payload arrives.
func TestProtocolViolationsCloseWithTheirCode(t *testing.T) {
	addr := frameServer(t)
	huge := int64(1 << 20)
	for _, tc := range []struct {
		f    wstest.Frame
		code uint16
	}{
		{wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte{1}, Unmasked: true}, 1002},
		{wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte{1}, RSV: 4}, 1002},
		{wstest.Frame{Opcode: 0x3, Payload: []byte{1}}, 1002},
		{wstest.Frame{Opcode: wstest.OpContinuation, Payload: []byte{1}}, 1002},
		{wstest.Frame{Opcode: wstest.OpPing, Payload: make([]byte, 126)}, 1002},
		{wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte{1}, Length: &huge}, 1009},
	} {
		c, err := wstest.Dial(addr, "/ws")
		require.NoError(t, err)
		require.NoError(t, c.Write(tc.f))
		m, err := c.ReadUntilClose(2*time.Second, nil)
		require.NoError(t, err)
		assert.Equal(t, tc.code, m.CloseCode(), "frame %+v", tc.f)
		c.Close()
	}
}

// nopHandler takes every frame and does nothing.
type nopHandler struct{}

func (nopHandler) Frame([]byte) error    { return nil }
func (nopHandler) Reject(*netcode.Error) {}
func (nopHandler) Closed(error)          {}

// BenchmarkParseInputFrames parses what a socket read returns at a busy
// moment: four masked 20-byte input frames. It allocates nothing.
func BenchmarkParseInputFrames(b *testing.B) {
	opt := ServerOptions{}
	opt.Fill()
	c := &serverConn{opt: &opt, h: nopHandler{}, rdl: time.Now().Add(time.Hour)} // no deadline to refresh: no socket here
	var wire []byte
	for i := range 4 {
		wire = append(wire, wstest.Frame{Opcode: wstest.OpBinary, Payload: bytes.Repeat([]byte{byte(i)}, 20)}.Encode()...)
	}
	r := &frameReader{buf: make([]byte, 0, readBufferSize)}
	b.ReportAllocs()
	for b.Loop() {
		r.buf = append(r.buf[:0], wire...)
		if err, _ := c.parse(r); err != nil {
			b.Fatal(err)
		}
		if len(r.buf) != 0 {
			b.Fatal("frames left unparsed")
		}
	}
}

//go:build !js

package wsconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/lxzan/gws"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// The server reads its TCP connections itself rather than through gws:
// Go's net.Conn.Read makes two system calls per message that arrives
// alone (the read that returns it, then one that fails with EAGAIN before
// the goroutine parks), while readDirect parks right after a read that
// left the socket empty. It runs inside one RawConn.Read for the whole
// connection, so a readiness the poller reports while a message is being
// handled is never lost: the wait after it returns at once.

// violation is a WebSocket protocol error found in what the peer sent; the
// connection is closed with its code (1002 protocol error, 1009 too big).
type violation struct {
	code uint16
	why  string
}

func (v *violation) Error() string  { return fmt.Sprintf("wsconn: %s (close %d)", v.why, v.code) }
func (v *violation) Uint16() uint16 { return v.code } // read by protocolViolation

// errPeerClosed is the end of a connection whose peer sent a close frame.
var errPeerClosed = errors.New("wsconn: the peer closed the connection")

// readBufferSize is the first size of a connection's read buffer; it grows
// (up to a frame of HardMaxMessage) only for a bigger frame.
const readBufferSize = 1 << 10

// frameReader is the state of readDirect between reads; it is owned by the
// read goroutine.
type frameReader struct {
	buf  []byte // bytes read and not yet parsed
	frag []byte // a fragmented message's payload so far
	op   gws.Opcode
	more bool // a fragmented message is being assembled
	// closeCode and closeWhy are the close frame to send once reading
	// stopped (sending it closes the socket, which must wait until the
	// read is over); closeCode 0 sends none.
	closeCode uint16
	closeWhy  []byte
}

// readDirect reads and handles frames until the peer goes away (handled
// false) or the handler stops it (handled true).
func (c *serverConn) readDirect() (err error, handled bool) {
	r := &frameReader{buf: make([]byte, 0, readBufferSize)}
	rerr := c.raw.Read(func(fd uintptr) bool {
		for {
			if len(r.buf) == cap(r.buf) {
				r.buf = append(r.buf, 0)[:len(r.buf)] // room for at least one more byte
			}
			space := cap(r.buf) - len(r.buf)
			n, e := syscall.Read(int(fd), r.buf[len(r.buf):cap(r.buf)])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false // nothing yet: wait for the poller
			case e != nil:
				err = e
				return true
			case n == 0:
				err = io.EOF
				return true
			}
			r.buf = r.buf[:len(r.buf)+n]
			if herr, h := c.parse(r); herr != nil {
				err, handled = herr, h
				return true
			}
			if n < space {
				// A short read emptied the socket: park until more
				// arrives instead of reading again for EAGAIN.
				return false
			}
		}
	})
	if err == nil {
		err = rerr // a deadline, or the writer closed the socket
	}
	if r.closeCode != 0 {
		c.wmu.Lock()
		c.writeDeadline(time.Now())
		_ = c.socket.WriteClose(r.closeCode, r.closeWhy)
		c.wmu.Unlock()
	}
	if c.rejected {
		handled = true // the handler was told (a control flood)
	}
	return err, handled
}

// parse handles every complete frame at the start of r.buf and keeps the
// rest. It returns an error when reading must stop: a protocol violation
// (the close frame is sent), the peer's close, or the handler's error
// (handled true).
func (c *serverConn) parse(r *frameReader) (error, bool) {
	b := r.buf
	for {
		if len(b) < 2 {
			break
		}
		fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, gws.Opcode(b[0]&0x0f)
		masked, n7 := b[1]&0x80 != 0, int64(b[1]&0x7f)
		hdr := 2
		length := n7
		switch n7 {
		case 126:
			if len(b) < 4 {
				return c.keep(r, b), false
			}
			length, hdr = int64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return c.keep(r, b), false
			}
			u := binary.BigEndian.Uint64(b[2:])
			if u > 1<<62 {
				return r.violate(1009, "frame length out of range"), false
			}
			length, hdr = int64(u), 10
		}
		control := op >= 8
		switch {
		case rsv != 0:
			return r.violate(1002, "reserved bits set"), false
		case !masked:
			return r.violate(1002, "unmasked client frame"), false
		case op != gws.OpcodeContinuation && op != gws.OpcodeText && op != gws.OpcodeBinary &&
			op != gws.OpcodeCloseConnection && op != gws.OpcodePing && op != gws.OpcodePong:
			return r.violate(1002, "unknown opcode"), false
		case control && (!fin || length > 125):
			return r.violate(1002, "bad control frame"), false
		case length > int64(c.opt.HardMaxMessage) || (!control && int64(len(r.frag))+length > int64(c.opt.HardMaxMessage)):
			return r.violate(1009, "message too big"), false
		case op == gws.OpcodeContinuation && !r.more:
			return r.violate(1002, "continuation without a message"), false
		case (op == gws.OpcodeText || op == gws.OpcodeBinary) && r.more:
			return r.violate(1002, "new message inside a fragmented one"), false
		}
		total := hdr + 4 + int(length)
		if len(b) < total {
			if total > cap(r.buf) { // a bigger frame than the buffer holds
				nb := make([]byte, len(b), total)
				copy(nb, b)
				r.buf = nb
				return nil, false
			}
			return c.keep(r, b), false
		}
		key := b[hdr : hdr+4]
		payload := b[hdr+4 : total]
		unmask(payload, key)
		b = b[total:]
		if control {
			if err := c.onControl(r, op, payload); err != nil {
				return err, false
			}
			continue
		}
		msg, msgOp := payload, op
		if !fin || r.more {
			if !r.more {
				r.more, r.op = true, op
			}
			r.frag = append(r.frag, payload...)
			if !fin {
				continue
			}
			msg, msgOp, r.more = r.frag, r.op, false
		}
		herr := c.message(msgOp, msg)
		r.frag = r.frag[:0]
		if herr != nil {
			return herr, true
		}
	}
	c.keep(r, b)
	return nil, false
}

// keep moves the unparsed bytes b to the start of the buffer; it returns
// nil, for parse's early returns.
func (c *serverConn) keep(r *frameReader, b []byte) error {
	r.buf = r.buf[:copy(r.buf[:cap(r.buf)], b)]
	return nil
}

// unmask XORs payload with the frame's masking key.
func unmask(payload, key []byte) {
	if len(payload) >= 8 {
		k := binary.LittleEndian.Uint32(key)
		k8 := uint64(k) | uint64(k)<<32
		i := 0
		for ; i+8 <= len(payload); i += 8 {
			binary.LittleEndian.PutUint64(payload[i:], binary.LittleEndian.Uint64(payload[i:])^k8)
		}
		for ; i < len(payload); i++ {
			payload[i] ^= key[i&3]
		}
		return
	}
	for i := range payload {
		payload[i] ^= key[i&3]
	}
}

// violate stops reading for a protocol violation: its close frame goes
// once the read is over.
func (r *frameReader) violate(code uint16, why string) error {
	r.closeCode, r.closeWhy = code, []byte(why)
	return &violation{code: code, why: why}
}

// onControl handles a ping, a pong or a close frame.
func (c *serverConn) onControl(r *frameReader, op gws.Opcode, payload []byte) error {
	switch op {
	case gws.OpcodePing:
		if c.allowControl() {
			c.wmu.Lock()
			c.writeDeadline(time.Now())
			_ = c.socket.WritePong(payload)
			c.wmu.Unlock()
		}
	case gws.OpcodePong:
		if c.allowControl() { // a flood of pongs does not keep the peer alive
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			c.refreshReadDeadline(now)
		}
	case gws.OpcodeCloseConnection:
		code := uint16(1000)
		switch {
		case len(payload) == 1:
			code = 1002
		case len(payload) >= 2:
			got := binary.BigEndian.Uint16(payload)
			if got < 1000 || got >= 5000 || (got >= 1016 && got < 3000) || got == 1004 || got == 1005 || got == 1006 || got == 1015 {
				code = 1002
			}
		}
		r.closeCode = code // answered once the read is over
		return errPeerClosed
	}
	return nil
}

// message hands one complete data message to the handler, as readLoop
// does for a message gws read.
func (c *serverConn) message(op gws.Opcode, data []byte) error {
	now := time.Now()
	c.lastRead.Store(now.UnixNano())
	c.refreshReadDeadline(now)
	switch {
	case op != gws.OpcodeBinary:
		e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_MALFORMED, "text frames are not accepted; send binary protobuf")
		c.h.Reject(e)
		return e
	case len(data) > c.opt.MaxMessage:
		c.h.Reject(errTooLarge)
		return errTooLarge
	}
	return c.h.Frame(data)
}

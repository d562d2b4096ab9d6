//go:build !js

// Package wstest is a raw WebSocket client for tests: it speaks the wire
// format byte by byte, so a test can send what no well-behaved library
// would (bad lengths, reserved bits, unmasked frames, half frames) or stop
// reading altogether.
package wstest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Opcodes of RFC 6455.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Conn is a raw client connection after a successful upgrade.
type Conn struct {
	net.Conn
	R *bufio.Reader
}

// Dial opens a TCP connection to addr (host:port) and upgrades it on path.
func Dial(addr, path string) (*Conn, error) { return DialBuffer(addr, path, 0) }

// DialBuffer is Dial with the socket's receive buffer set to readBuffer bytes
// before connecting (0: the default), so a client that stops reading fills
// the server's side quickly.
func DialBuffer(addr, path string, readBuffer int) (*Conn, error) {
	return DialWith(&net.Dialer{Timeout: 5 * time.Second}, addr, path, readBuffer)
}

// DialFrom is Dial from local address ip (for example 127.0.0.2: every
// 127.x.y.z address is loopback), so a test can play many remote
// addresses.
func DialFrom(ip, addr, path string) (*Conn, error) {
	return DialWith(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}, addr, path, 0)
}

// DialWith is DialBuffer with the dialer d (its Control is replaced when
// readBuffer is set).
func DialWith(d *net.Dialer, addr, path string, readBuffer int) (*Conn, error) {
	if readBuffer > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, readBuffer)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, base64.StdEncoding.EncodeToString(key[:]))
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("wstest: upgrade refused: %s", resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	return &Conn{Conn: c, R: r}, nil
}

// Frame describes one frame to write. The zero value of the flags gives a
// well-formed final, masked frame.
type Frame struct {
	Opcode   byte
	Payload  []byte
	NotFinal bool   // clear FIN
	RSV      byte   // reserved bits (0..7) to set
	Unmasked bool   // send without a mask, which servers must refuse
	Length   *int64 // declare this payload length instead of the real one
}

// Encode returns the frame's bytes.
func (f Frame) Encode() []byte {
	var b []byte
	first := f.Opcode & 0x0f
	if !f.NotFinal {
		first |= 0x80
	}
	first |= (f.RSV & 7) << 4
	b = append(b, first)
	n := int64(len(f.Payload))
	if f.Length != nil {
		n = *f.Length
	}
	mask := byte(0x80)
	if f.Unmasked {
		mask = 0
	}
	switch {
	case n < 126:
		b = append(b, mask|byte(n))
	case n <= 0xffff:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if f.Unmasked {
		return append(b, f.Payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	b = append(b, key[:]...)
	for i, c := range f.Payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// Write sends one frame.
func (c *Conn) Write(f Frame) error {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Conn.Write(f.Encode())
	return err
}

// Binary sends one complete binary message.
func (c *Conn) Binary(payload []byte) error {
	return c.Write(Frame{Opcode: OpBinary, Payload: payload})
}

// Message is one frame read from the server (servers do not mask).
type Message struct {
	Opcode  byte
	Payload []byte
}

// CloseCode returns the code of a close frame, or 0.
func (m Message) CloseCode() uint16 {
	if m.Opcode != OpClose || len(m.Payload) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(m.Payload)
}

// CloseReason returns the text of a close frame.
func (m Message) CloseReason() string {
	if m.Opcode != OpClose || len(m.Payload) < 2 {
		return ""
	}
	return string(m.Payload[2:])
}

// ErrFrameTooLarge is returned by Read for frames over 1 MiB.
var ErrFrameTooLarge = errors.New("wstest: frame too large")

// Read reads one frame, waiting up to timeout.
func (c *Conn) Read(timeout time.Duration) (Message, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(c.R, h[:]); err != nil {
		return Message{}, err
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(c.R, l[:]); err != nil {
			return Message{}, err
		}
		n = int64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(c.R, l[:]); err != nil {
			return Message{}, err
		}
		n = int64(binary.BigEndian.Uint64(l[:]))
	}
	if n > 1<<20 {
		return Message{}, ErrFrameTooLarge
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.R, p); err != nil {
		return Message{}, err
	}
	return Message{Opcode: h[0] & 0x0f, Payload: p}, nil
}

// ReadUntilClose reads frames until a close frame (returned) or an error.
// Other frames are passed to seen, if not nil.
func (c *Conn) ReadUntilClose(timeout time.Duration, seen func(Message)) (Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := c.Read(time.Until(deadline))
		if err != nil {
			return m, err
		}
		if m.Opcode == OpClose {
			return m, nil
		}
		if seen != nil {
			seen(m)
		}
	}
}

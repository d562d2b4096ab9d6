//go:build !js

package wsconn

import (
	"syscall"
	"unsafe"
)

// Linux ioctls on a TCP socket: bytes not yet acknowledged by the peer
// (unsent included), and bytes not yet sent.
const (
	siocOutq    = 0x5411 // SIOCOUTQ (TIOCOUTQ)
	siocOutqNSD = 0x894B // SIOCOUTQNSD
)

// windowClosed reports whether the peer's receive window is closed: data
// waits in the send queue while nothing is in flight (every byte sent was
// acknowledged, and the peer will take no more). A peer that reads, even
// slowly, has bytes in flight or an empty queue.
func windowClosed(rc syscall.RawConn) bool {
	var outq, unsent int32
	var errno syscall.Errno
	err := rc.Control(func(fd uintptr) {
		if _, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, siocOutq, uintptr(unsafe.Pointer(&outq))); errno != 0 {
			return
		}
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, siocOutqNSD, uintptr(unsafe.Pointer(&unsent)))
	})
	return err == nil && errno == 0 && unsent > 0 && outq == unsent
}

//go:build !linux && !js

package wsconn

import "syscall"

// windowClosed is not known on this system: a peer that stops reading is
// cut when its socket's send buffer is full and a write times out.
func windowClosed(syscall.RawConn) bool { return false }

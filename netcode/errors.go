package netcode

import (
	"fmt"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// Error is a protocol-level failure with its wire code. Fatal errors close
// the connection; transports map them to their own terms (a WebSocket close
// code of 4000+Code, an HTTP status for polling).
type Error struct {
	Code    sessionpb.ErrorCode
	Message string
	Fatal   bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Frame encodes e as a ServerMessage answering requestID.
func (e *Error) Frame(requestID uint32) []byte {
	return ErrorFrame(requestID, e.Code, e.Fatal, e.Message)
}

// Fatalf returns a fatal *Error.
func Fatalf(code sessionpb.ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Fatal: true}
}

// Errorf returns a non-fatal *Error.
func Errorf(code sessionpb.ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CloseCodeBase is added to an ErrorCode to give the WebSocket close code of
// a fatal error (4000-4999 is the range RFC 6455 leaves to applications).
const CloseCodeBase = 4000

// Handler is what a transport hands a connection's frames to, whatever the
// transport: frames come one at a time, in order.
type Handler interface {
	// Frame handles one complete message; data is valid only during the
	// call. A non-nil error stops reading; the handler has already closed
	// the connection's link (or its outbox) with its final frame and a
	// reason (a *Error gives the close code, 4000+code on WebSocket).
	Frame(data []byte) error
	// Reject is called for a message the transport refuses before the
	// handler sees it (a text frame, a frame over the size limit, a panic
	// while reading): the handler queues e as its final frame and closes
	// what e ends. Reading stops after it.
	Reject(e *Error)
	// Closed is called once, when the connection is gone.
	Closed(err error)
}

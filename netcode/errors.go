package netcode

import (
	"fmt"

	"github.com/arenaserver/arena/proto/arenapb"
)

// Error is a protocol-level failure with its wire code. Fatal errors close
// the connection; transports map them to their own terms (a WebSocket close
// code of 4000+Code, an HTTP status for polling).
type Error struct {
	Code    arenapb.ErrorCode
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
func Fatalf(code arenapb.ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Fatal: true}
}

// Errorf returns a non-fatal *Error.
func Errorf(code arenapb.ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CloseCodeBase is added to an ErrorCode to give the WebSocket close code of
// a fatal error (4000-4999 is the range RFC 6455 leaves to applications).
const CloseCodeBase = 4000

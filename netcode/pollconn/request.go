package pollconn

import (
	"context"
	"net/http"
)

// answer is the part of an HTTP response the channel reads.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// requester makes the channel's HTTP requests: net/http natively,
// the browser's fetch in a browser (request_js.go), where net/http's
// own client would link TLS and X.509 for nothing (the browser does them).
type requester interface {
	// do sends one request with header and body (nil: none) and reads at
	// most limit bytes of the answer's body.
	do(ctx context.Context, method, url string, header http.Header, body []byte, limit int64) (answer, error)
	// close lets go of idle connections.
	close()
}

//go:build js

package pollconn

import "net/http"

// newTransport is the HTTP transport of one channel. In a browser net/http
// sends every request with fetch, as long as the transport has no dialer
// of its own: the browser owns the connections, and a long-poll GET's
// answer streams in like any other. The page's origin rules apply (the
// routes are same-origin with the page /play serves). Timeouts come from
// each request's context (fetch is aborted with it).
func newTransport(DialOptions) *http.Transport { return &http.Transport{} }

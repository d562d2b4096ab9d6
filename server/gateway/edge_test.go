package gateway

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/server/room"
)

// TestOriginAndPerAddressLimits checks the edge rules on both transports:
// a browser Origin must be the server's own or allowed, none (a native
// client) always passes, and one address holds at most MaxConnsPerIP
// connections.
func TestOriginAndPerAddressLimits(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Limits: Limits{MaxConnsPerIP: 2, AllowedOrigins: []string{"https://game.example"}}})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(method, path, origin string, upgrade bool) int {
		req, err := http.NewRequest(method, "http://"+ts.addr+path, nil)
		require.NoError(t, err)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if upgrade {
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, method, path, origin string
		upgrade                    bool
		want                       int
	}{
		{"ws from a foreign origin", "GET", "/ws", "https://evil.example", true, http.StatusForbidden},
		{"poll from a foreign origin", "POST", "/poll", "https://evil.example", false, http.StatusForbidden},
		{"poll GET from a foreign origin", "GET", "/poll?sid=x", "http://evil.example", false, http.StatusForbidden},
		{"poll from an allowed origin", "POST", "/poll", "https://game.example", false, http.StatusCreated},
		{"poll from the same origin", "POST", "/poll", "http://" + ts.addr, false, http.StatusCreated},
		{"poll past the per-address limit", "POST", "/poll", "", false, http.StatusTooManyRequests},
		{"ws past the per-address limit", "GET", "/ws", "", true, http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, do(tc.method, tc.path, tc.origin, tc.upgrade))
		})
	}
	assert.Equal(t, int64(2), ts.gw.Stats().Connections, "two channels open from this address")
}

// TestCrossOriginPolling: a page of an allowed origin other than the
// server's (a CDN) may poll with fetch: its preflight is answered without
// opening anything, and the answers name the origin and expose the
// channel's headers. A foreign origin's preflight is refused; a
// same-origin request gets no CORS headers.
func TestCrossOriginPolling(t *testing.T) {
	ts := startServer(t, room.Config{}, Config{Limits: Limits{AllowedOrigins: []string{"https://cdn.example"}}})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(method, origin string, header ...string) *http.Response {
		req, err := http.NewRequest(method, "http://"+ts.addr+"/poll", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	pre := do(http.MethodOptions, "https://cdn.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "arena-poll-key")
	assert.Equal(t, http.StatusNoContent, pre.StatusCode)
	assert.Equal(t, "https://cdn.example", pre.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Headers"), "Arena-Poll-Key")
	assert.Empty(t, pre.Header.Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, int64(0), ts.gw.Stats().Connections, "a preflight opens no channel")

	evil := do(http.MethodOptions, "https://evil.example", "Access-Control-Request-Method", "POST")
	assert.Equal(t, http.StatusForbidden, evil.StatusCode)
	assert.Empty(t, evil.Header.Get("Access-Control-Allow-Origin"))

	open := do(http.MethodPost, "https://cdn.example")
	require.Equal(t, http.StatusCreated, open.StatusCode)
	assert.Equal(t, "https://cdn.example", open.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, open.Header.Get("Access-Control-Expose-Headers"), "Arena-Poll-Id")
	assert.Contains(t, open.Header.Get("Access-Control-Expose-Headers"), "Arena-Poll-Key")
	assert.Contains(t, open.Header.Values("Vary"), "Origin")

	same := do(http.MethodPost, "http://"+ts.addr)
	require.Equal(t, http.StatusCreated, same.StatusCode)
	assert.Empty(t, same.Header.Get("Access-Control-Allow-Origin"), "same origin: no CORS")
}

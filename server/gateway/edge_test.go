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

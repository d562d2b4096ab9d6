package health

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/arenaserver/arena/server/room"
)

func TestReadiness(t *testing.T) {
	draining := false
	rooms := []room.Info{{ID: "r1"}, {ID: "r2", OverloadedFor: 3 * time.Second}}
	c := &Checker{Draining: func() bool { return draining }, Rooms: func() []room.Info { return rooms }, Sustained: 5 * time.Second}
	status := func() (int, string) {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w.Code, w.Body.String()
	}
	code, body := status()
	assert.Equal(t, http.StatusOK, code, "a short overload is not enough")
	assert.Equal(t, "ready\n", body)

	rooms[1].OverloadedFor = 6 * time.Second
	code, body = status()
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "r2 has overrun its tick budget")

	rooms[1].OverloadedFor = 0
	draining = true
	code, body = status()
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "draining\n", body)

	ok, _ := (&Checker{}).Ready()
	assert.True(t, ok, "no sources: ready")
}

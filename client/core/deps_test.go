package core

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImports: the core is the client without a window and without a game.
// Its non-test code must not link Ebiten (it runs headless, in tests and
// in bots), nor any game (the program's main registers the games; tests may
// use the arena as a fixture), nor the server or the bots.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/arenaserver/arena/game")
	forbidden := map[string]string{
		"github.com/hajimehoshi/ebiten":       "the core is tested and used without a display",
		"github.com/arenaserver/arena/games":  "games are registered by the program's main, never named by the engine",
		"github.com/arenaserver/arena/server": "the client talks to the server only over the protocol",
		"github.com/arenaserver/arena/bots":   "the bots use the client, not the other way round",
	}
	for _, d := range deps {
		for prefix, why := range forbidden {
			assert.False(t, d == prefix || strings.HasPrefix(d, prefix+"/"), "client/core imports %s: %s", d, why)
		}
	}
}

package arena_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mod = "github.com/arenaserver/arena"

// TestImportGraph enforces the direction of imports that DESIGN.md lays
// out: sim knows nothing of networks, netcode nothing of rooms or windows,
// only the desktop client and a game's renderer (games/NAME/draw) touch
// Ebiten, games import no network code, and nothing imports
// the server, the client or the bots but their own packages (and the
// benchmarks).
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "./...").Output()
	require.NoError(t, err)
	deps := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, ":")
		deps[pkg] = strings.Fields(list)
	}
	require.Contains(t, deps, "github.com/arenaserver/arena/games/arena/sim")

	// gameRenderer: a game's desktop renderer lives in games/NAME/draw
	// (client/render.Renderer), the only package of a game that links
	// Ebiten.
	gameRenderer := func(p string) bool {
		name, ok := strings.CutPrefix(p, mod+"/games/")
		return ok && strings.Count(name, "/") == 1 && strings.HasSuffix(name, "/draw")
	}
	ours := func(p string) bool { return p == mod || strings.HasPrefix(p, mod+"/") }
	under := func(p, root string) bool {
		return p == root || strings.HasPrefix(p, root+"/")
	}
	for pkg, ds := range deps {
		for _, d := range ds {
			switch {
			case under(pkg, "github.com/arenaserver/arena/games/arena/sim"):
				assert.False(t, ours(d), "sim must not import %s (in %s)", d, pkg)
				assert.NotContains(t, []string{"net", "net/http", "time", "os", "math/rand", "log", "log/slog"}, d, "%s imports %s", pkg, d)
			case under(pkg, "github.com/arenaserver/arena/proto"):
				assert.False(t, ours(d) && !under(d, "github.com/arenaserver/arena/proto"), "%s imports %s", pkg, d)
			case under(pkg, "github.com/arenaserver/arena/netcode"):
				assert.False(t, under(d, "github.com/arenaserver/arena/server") || under(d, "github.com/arenaserver/arena/client") || under(d, "github.com/arenaserver/arena/bots"),
					"netcode package %s imports %s", pkg, d)
			}
			if under(d, "github.com/arenaserver/arena/server") && !under(pkg, "github.com/arenaserver/arena/server") && !under(pkg, "github.com/arenaserver/arena/benchmarks") {
				t.Errorf("%s imports the server package %s", pkg, d)
			}
			if under(d, "github.com/arenaserver/arena/client") && !under(pkg, "github.com/arenaserver/arena/client") && !under(pkg, "github.com/arenaserver/arena/benchmarks") {
				t.Errorf("%s imports the client package %s", pkg, d)
			}
			if under(d, "github.com/arenaserver/arena/bots") && !under(pkg, "github.com/arenaserver/arena/bots") && !under(pkg, "github.com/arenaserver/arena/benchmarks") {
				t.Errorf("%s imports the bots package %s", pkg, d)
			}
			if strings.HasPrefix(d, "github.com/hajimehoshi/ebiten") && !under(pkg, "github.com/arenaserver/arena/client") && !gameRenderer(pkg) {
				t.Errorf("%s links Ebiten; only the desktop client and a game's renderer (games/NAME/draw) may", pkg)
			}
			if under(pkg, "github.com/arenaserver/arena/games") && under(d, "github.com/arenaserver/arena/netcode") {
				t.Errorf("%s imports %s: a game is written against the game API only", pkg, d)
			}
		}
	}
}

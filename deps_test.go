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
// only the desktop client's render code and the games' draw packages touch
// Ebiten, and nothing imports the server, the client or the bots but their
// own packages (and the benchmarks).
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "./...").Output()
	require.NoError(t, err)
	deps := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, ":")
		deps[pkg] = strings.Fields(list)
	}
	require.Contains(t, deps, "github.com/arenaserver/arena/games/arena/sim")

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
			if strings.HasPrefix(d, "github.com/hajimehoshi/ebiten") && !under(pkg, "github.com/arenaserver/arena/client") && !gameDraw(pkg) {
				t.Errorf("%s links Ebiten; only the desktop client and the games' draw packages may", pkg)
			}
		}
	}
}

// gameDraw reports whether pkg is (under) a game's renderer for the desktop
// client, games/NAME/draw: the only game code that may link Ebiten.
func gameDraw(pkg string) bool {
	rest, ok := strings.CutPrefix(pkg, mod+"/games/")
	if !ok {
		return false
	}
	_, sub, ok := strings.Cut(rest, "/")
	return ok && (sub == "draw" || strings.HasPrefix(sub, "draw/"))
}

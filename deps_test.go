package arena_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const mod = "github.com/arenaserver/arena"

// pkg is what go list says of one package of the module.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

func listPackages(t *testing.T) map[string]*pkg {
	out, err := exec.Command("go", "list", "-json=ImportPath,Name,Imports,Deps", "./...").Output()
	require.NoError(t, err)
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")] = &p
	}
	require.Contains(t, pkgs, "game")
	return pkgs
}

// under reports whether p (relative to the module) is root or below it.
func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

// ours maps an import path to its path in the module, or "" for other
// modules and the standard library.
func ours(path string) (string, bool) {
	if path == mod {
		return ".", true
	}
	rel, ok := strings.CutPrefix(path, mod+"/")
	return rel, ok
}

// isDraw reports whether p is a game's renderer package (games/NAME/draw),
// the only place besides client/render allowed to link Ebiten.
func isDraw(p string) bool {
	parts := strings.Split(p, "/")
	return len(parts) >= 3 && parts[0] == "games" && parts[2] == "draw"
}

// nondeterministic are the standard packages whose direct import would let
// a game's rules read a clock, do I/O, start goroutines or draw from a
// global random source.
var nondeterministic = []string{"time", "os", "net", "net/http", "math/rand", "log", "log/slog", "sync", "sync/atomic", "io/ioutil"}

// TestImportGraph enforces the direction of imports that DESIGN.md lays
// out and what each package comment promises. Each rule names its reason.
func TestImportGraph(t *testing.T) {
	pkgs := listPackages(t)
	programs := []string{"server", "client", "bots"} // main packages wire the games
	type rule struct {
		applies func(p string) bool
		forbids func(p, dep string) bool
		direct  bool // only direct imports (else transitive)
		why     string
	}
	rules := []rule{
		{func(p string) bool { return under(p, "game") }, func(_, d string) bool { _, o := ours(d); return o && !under(mustOurs(d), "game") }, false,
			"the game API imports nothing of the engine: games and clients depend on it, not the reverse"},
		{func(p string) bool { return under(p, "game") }, func(_, d string) bool {
			return slices.Contains([]string{"time", "os", "net", "net/http", "math/rand", "log"}, d)
		}, true,
			"the game API reads no clock, does no I/O and has no global random source"},
		{func(p string) bool { return under(p, "games") && !isDraw(p) }, func(_, d string) bool { return slices.Contains(nondeterministic, d) }, true,
			"a game's rules are deterministic: no clocks, I/O, goroutines or global random source (the engine hands them tick and seeded source)"},
		{func(p string) bool { return under(p, "games") }, func(_, d string) bool {
			o, ok := ours(d)
			return ok && (under(o, "server") || under(o, "netcode") || under(o, "client") || under(o, "bots") || under(o, "benchmarks"))
		}, false, "a game is written only against the public API (game/) and proto/"},
		{func(p string) bool {
			return (under(p, "server") || under(p, "netcode") || under(p, "client") || under(p, "bots")) && !slices.Contains(programs, p)
		}, func(_, d string) bool { o, ok := ours(d); return ok && under(o, "games") }, false,
			"engine packages never import a game; the programs' main packages wire the registry"},
		{func(p string) bool {
			return !under(p, "client/render") && !isDraw(p) && p != "client" && !under(p, "benchmarks")
		},
			func(_, d string) bool { return strings.HasPrefix(d, "github.com/hajimehoshi/ebiten") }, false,
			"only the desktop client's shell (client/render) and games' renderers (games/NAME/draw) link Ebiten: servers and bots run without display libraries"},
		{func(p string) bool { return under(p, "proto") }, func(_, d string) bool { o, ok := ours(d); return ok && !under(o, "proto") }, false,
			"the wire schemas import nothing else of ours"},
		{func(p string) bool { return under(p, "netcode") }, func(_, d string) bool {
			o, ok := ours(d)
			return ok && (under(o, "server") || under(o, "client") || under(o, "bots"))
		}, false, "netcode knows nothing of rooms, windows or bots"},
		{func(p string) bool { return !under(p, "server") && !under(p, "benchmarks") }, func(_, d string) bool { o, ok := ours(d); return ok && under(o, "server") }, false,
			"nothing imports the server but its own packages and the benchmarks"},
		{func(p string) bool { return !under(p, "client") && !under(p, "benchmarks") }, func(_, d string) bool { o, ok := ours(d); return ok && under(o, "client") }, false,
			"nothing imports the desktop client but its own packages and the benchmarks"},
		{func(p string) bool { return !under(p, "bots") && !under(p, "benchmarks") }, func(_, d string) bool { o, ok := ours(d); return ok && under(o, "bots") }, false,
			"nothing imports the bots but their own packages and the benchmarks"},
		{func(p string) bool { return p == "server/room" }, func(_, d string) bool {
			o, ok := ours(d)
			return ok && (under(o, "server/lobby") || under(o, "server/gateway") || o == "netcode/wsconn" || o == "netcode/pollconn")
		}, false, "room (its package comment): never the lobby, the gateway or a transport"},
		{func(p string) bool { return p == "server/lobby" }, func(_, d string) bool {
			o, ok := ours(d)
			return ok && (o == "netcode/wsconn" || o == "netcode/pollconn" || under(o, "server/gateway"))
		}, false, "lobby (its package comment): knows nothing of transports"},
		{func(p string) bool { return p == "client/core" || p == "netcode/client" }, func(_, d string) bool {
			o, ok := ours(d)
			return ok && (under(o, "server") || under(o, "bots") || under(o, "games"))
		}, false, "the client core and the protocol client (their package comments): never the server, the bots or a game"},
	}
	for name, p := range pkgs {
		for _, r := range rules {
			if !r.applies(name) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				if r.forbids(name, d) {
					t.Errorf("%s imports %s: %s", name, d, r.why)
				}
			}
		}
	}
}

func mustOurs(path string) string {
	o, _ := ours(path)
	return o
}

// TestImportGraphCatchesViolations checks the rules bite, on the graph as
// it is: a game package linking the server would be reported.
func TestImportGraphCatchesViolations(t *testing.T) {
	pkgs := listPackages(t)
	require.Contains(t, pkgs, "games/arena")
	require.Contains(t, pkgs, "server/room")
	for _, d := range pkgs["server/room"].Deps {
		o, ok := ours(d)
		require.False(t, ok && under(o, "games"), "the room must not depend on a game")
	}
	require.True(t, slices.ContainsFunc(pkgs["server"].Deps, func(d string) bool { return d == mod+"/games/arena" }),
		"the server's main wires the arena: the rule exempting main packages is exercised")
	require.True(t, isDraw("games/arena/draw") && !isDraw("games/arena") && !isDraw("client/render"))
}

// TestBrowserBuild builds the client and the netcode for the browser
// (GOOS=js GOARCH=wasm), as /play serves it: the browser's own WebSocket
// and fetch carry the protocol there, and gws (raw sockets) stays out.
func TestBrowserBuild(t *testing.T) {
	env := append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	build := exec.Command("go", "build", "./client/...", "./netcode/...")
	build.Env = env
	out, err := build.CombinedOutput()
	require.NoError(t, err, "GOOS=js GOARCH=wasm go build ./client/... ./netcode/...:\n%s", out)
	list := exec.Command("go", "list", "-deps", "./client")
	list.Env = env
	out, err = list.Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, mod+"/netcode/wsconn", "the browser client dials WebSocket through wsconn")
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/lxzan/gws") || d == mod+"/netcode/wsconn/wstest" {
			t.Errorf("the browser client links %s: only the browser's WebSocket runs there", d)
		}
	}
}

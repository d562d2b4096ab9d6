package swarm

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsNoGameNorServer: the swarm is generic over games (the bots
// command's registry hands it one) and a client of the server, as its
// package comment promises.
func TestImportsNoGameNorServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	const mod = "github.com/arenaserver/arena/"
	for _, d := range strings.Fields(string(out)) {
		for _, banned := range []string{"games", "server", "client"} {
			if d == mod+banned || strings.HasPrefix(d, mod+banned+"/") {
				t.Errorf("bots/swarm imports %s", d)
			}
		}
	}
}

package swarm

import (
	"errors"
	"fmt"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// ErrBadWelcome means the server announced rates a bot cannot play at.
var ErrBadWelcome = errors.New("swarm: server announced unusable rates")

// checkWelcome refuses a Welcome whose tick or snapshot rate a bot cannot
// play at (a bot paces its inputs by the tick rate): both must be
// positive, the snapshot rate at most the tick rate, the tick rate at most
// 1000.
func checkWelcome(w *sessionpb.Welcome) error {
	tick, snap := w.GetTickRate(), w.GetSnapshotRate()
	if tick == 0 || tick > 1000 || snap == 0 || snap > tick {
		return fmt.Errorf("%w: tick rate %d, snapshot rate %d (want 1..1000 and 1..tick rate)", ErrBadWelcome, tick, snap)
	}
	return nil
}

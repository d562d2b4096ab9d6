package swarm

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/arenaserver/arena/proto/sessionpb"
)

// TestBadWelcomeIsAnErrorNotAPanic: a server announcing a tick or snapshot
// rate of 0 (issue 13) makes a bot fail with a clear error.
func TestBadWelcomeIsAnErrorNotAPanic(t *testing.T) {
	for _, w := range []*sessionpb.Welcome{
		{TickRate: 0, SnapshotRate: 30}, {TickRate: 60, SnapshotRate: 0}, {TickRate: 30, SnapshotRate: 60}, {TickRate: 5000, SnapshotRate: 30},
	} {
		assert.ErrorIs(t, checkWelcome(w), ErrBadWelcome, "%v", w)
	}
	assert.NoError(t, checkWelcome(&sessionpb.Welcome{TickRate: 60, SnapshotRate: 30}))
}

package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/server/fleet/redistest"
)

// adopter records the bundles a node adopts, refusing those that start
// with "refuse".
type adopter struct {
	mu  sync.Mutex
	got []string
}

func (a *adopter) adopt(b []byte) error {
	if strings.HasPrefix(string(b), "refuse") {
		return errors.New("refused for the test")
	}
	a.mu.Lock()
	a.got = append(a.got, string(b))
	a.mu.Unlock()
	return nil
}

func (a *adopter) bundles() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

// TestHandGoesToTheLeastLoadedNodeOfTheMode (issue 16): a draining node's
// room goes through Redis to the least loaded other live node of its mode,
// which adopts it and answers; a refusal, a node of another mode, a bundle
// over the bound and a fleet with nobody else are errors the sender sees
// at once, and nothing is left in Redis.
func TestHandGoesToTheLeastLoadedNodeOfTheMode(t *testing.T) {
	rd := redistest.Start(t)
	var ab, ac, ad adopter
	with := func(a *adopter) func(*Config) { return func(c *Config) { c.Adopt = a.adopt; c.HandoffBytes = 1 << 10 } }
	a := startNode(t, rd, 1001, "arena", 4, with(&adopter{}))
	b := startNode(t, rd, 1002, "arena", 4, with(&ab))
	c := startNode(t, rd, 1003, "arena", 4, with(&ac))
	d := startNode(t, rd, 1004, "ctf", 4, with(&ad))
	b.host.open("rb", 3, 4)
	c.host.open("rc", 1, 4)
	ctx := context.Background()
	b.beat(ctx)
	c.beat(ctx)
	require.NoError(t, a.Leave(ctx)) // a drains

	addr, err := a.Hand(ctx, "r1", []byte("bundle-1"))
	require.NoError(t, err)
	assert.Equal(t, c.Addr(), addr, "the node with fewer players")
	assert.Equal(t, []string{"bundle-1"}, ac.bundles())
	assert.Empty(t, ab.bundles())
	assert.Empty(t, ad.bundles(), "never to another mode")

	_, err = a.Hand(ctx, "r2", []byte("refuse-me"))
	assert.ErrorIs(t, err, ErrRefused)
	_, err = a.Hand(ctx, "r3", make([]byte, 2<<10))
	assert.ErrorIs(t, err, ErrTooBig)
	_, err = d.Hand(ctx, "r4", []byte("x"))
	assert.ErrorIs(t, err, ErrNoServer, "no other ctf node")
	keys, err := redisKeys(ctx, a, "arena:handoff:*")
	require.NoError(t, err)
	for _, k := range keys {
		assert.True(t, strings.HasSuffix(k, ":reply"), "bundles are taken or deleted: %s", k)
	}
	assert.Equal(t, uint64(1), a.Stats().HandedOut)
	assert.Equal(t, uint64(1), c.Stats().Adopted)
	assert.Equal(t, uint64(1), c.Stats().AdoptFailed)
}

// TestHandTimesOutWhenNobodyAnswers: a target that listens but never
// answers (stuck) costs the sender its deadline, and the bundle is taken
// back so that a late adopter finds nothing.
func TestHandTimesOutWhenNobodyAnswers(t *testing.T) {
	rd := redistest.Start(t)
	block := make(chan struct{})
	a := startNode(t, rd, 1001, "arena", 4)
	startNode(t, rd, 1002, "arena", 4, func(c *Config) {
		c.Adopt = func([]byte) error { <-block; return nil }
	})
	t.Cleanup(func() { close(block) }) // before the nodes close: they wait for their adoptions
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.Hand(ctx, "r1", []byte("slow"))
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func redisKeys(ctx context.Context, n *testNode, pattern string) ([]string, error) {
	return n.rdb.Keys(ctx, pattern).Result()
}

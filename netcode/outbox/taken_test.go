package outbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTakenCountsFramesAndBytes(t *testing.T) {
	o := New(0)
	require.NoError(t, o.Push([]byte("abc")))
	o.OfferSnapshot([]byte("12345"))
	o.OfferSnapshot([]byte("123456")) // replaces the first
	var b Batch
	o.Take(&b)
	o.Take(&b) // nothing more
	frames, bytes := o.Taken()
	assert.Equal(t, uint64(2), frames)
	assert.Equal(t, uint64(9), bytes)
	assert.Equal(t, uint64(1), o.Replaced())
}

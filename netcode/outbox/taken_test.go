package outbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTakenCountsFramesAndBytes(t *testing.T) {
	o := New(0)
	l := NewLink()
	o.Attach(l, 0)
	require.NoError(t, o.Push([]byte("abc")))
	o.OfferSnapshot([]byte("12345"))
	o.OfferSnapshot([]byte("123456")) // replaces the first
	require.True(t, l.Send([]byte("hb")))
	var b Batch
	l.Take(&b)
	l.Take(&b) // nothing more
	frames, bytes := l.Taken()
	assert.Equal(t, uint64(3), frames)
	assert.GreaterOrEqual(t, bytes, uint64(3+6+2), "the reliable frame also carries its seq")
	assert.Equal(t, uint64(1), o.Replaced())
}

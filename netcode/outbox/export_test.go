package outbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportReplaysWithTheSameNumbers: an exported outbox imported
// elsewhere replays what the client has not processed with the numbers it
// had, then numbers new frames after them; frames no link took are
// numbered on the new side.
func TestImportReplaysWithTheSameNumbers(t *testing.T) {
	o := New(0)
	l := NewLink()
	o.Attach(l, 0)
	for _, f := range []string{"a", "b", "c"} {
		require.NoError(t, o.Push([]byte(f)))
	}
	var b Batch
	l.Take(&b) // a, b, c numbered 1..3
	o.Ack(1)
	require.NoError(t, o.PushPolicy([]byte("d"), Bounded)) // not taken yet
	st := o.Export()
	assert.Equal(t, uint32(3), st.Seq)
	require.Len(t, st.Frames, 3)

	o2, err := Import(Limits{}, st)
	require.NoError(t, err)
	l2 := NewLink()
	o2.Attach(l2, 2) // the client processed 1 and 2
	require.NoError(t, o2.Push([]byte("e")))
	var b2 Batch
	l2.Take(&b2)
	assert.Equal(t, [][]byte{seqd("c", 3), seqd("d", 4), seqd("e", 5)}, b2.Frames)
	assert.Equal(t, uint32(5), o2.Seq())
}

func TestImportRefusesWhatExportCannotMake(t *testing.T) {
	for name, st := range map[string]State{
		"gap":            {Seq: 5, Frames: []Frame{{Seq: 3}, {Seq: 5}}},
		"past seq":       {Seq: 2, Frames: []Frame{{Seq: 3}}},
		"numbered later": {Seq: 3, Frames: []Frame{{Seq: 0}, {Seq: 3}}},
		"short of seq":   {Seq: 4, Frames: []Frame{{Seq: 3}}},
		"policy":         {Seq: 1, Frames: []Frame{{Seq: 1, Policy: 9}}},
		"too many":       {Seq: 0, Frames: make([]Frame, 3)},
	} {
		_, err := Import(Limits{Frames: 2}, st)
		assert.ErrorIs(t, err, ErrState, name)
	}
}

package outbox

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLatestReplacesAnUnsentOne: a roster not yet taken by a link is
// replaced by the next one, attached or not; one a link took stays.
func TestLatestReplacesAnUnsentOne(t *testing.T) {
	o := New(0)
	l := NewLink()
	o.Attach(l, 0)
	require.NoError(t, o.PushPolicy([]byte("r1"), Latest))
	var b Batch
	l.Take(&b)
	assert.Equal(t, [][]byte{seqd("r1", 1)}, b.Frames)
	require.NoError(t, o.PushPolicy([]byte("r2"), Latest))
	require.NoError(t, o.Push([]byte("reply")))
	require.NoError(t, o.PushPolicy([]byte("r3"), Latest))
	l.Take(&b)
	assert.Equal(t, [][]byte{seqd("reply", 2), seqd("r3", 3)}, b.Frames, "r2 was superseded; numbers have no gap")
	sup, _ := o.Compacted()
	assert.Equal(t, uint64(1), sup)
	assert.Equal(t, 3, o.Unacked(), "r1 is kept until acknowledged")
}

// TestHeldOutboxKeepsItsSeat: a detached outbox never refuses a Latest or
// Bounded frame: rosters coalesce, the oldest events go (counted), replies
// stay, and the resume replays the rest with consecutive numbers after
// what the client had.
func TestHeldOutboxKeepsItsSeat(t *testing.T) {
	o := NewLimits(Limits{Frames: 16, Held: 4})
	first := NewLink()
	o.Attach(first, 0)
	require.NoError(t, o.Push([]byte("joined")))
	var b Batch
	first.Take(&b)
	first.Close(nil, nil)
	require.False(t, o.Attached())

	require.NoError(t, o.Push([]byte("left")))
	for i := range 1000 {
		require.NoError(t, o.PushPolicy(fmt.Appendf(nil, "roster%d", i), Latest))
		require.NoError(t, o.PushPolicy(fmt.Appendf(nil, "chat%d", i), Bounded))
	}
	assert.LessOrEqual(t, o.Unacked(), 1+1+1+4)
	sup, dropped := o.Compacted()
	assert.Equal(t, uint64(999), sup)
	assert.Equal(t, uint64(996), dropped)

	second := NewLink()
	o.Attach(second, 0) // the client never saw "joined"
	second.Take(&b)
	assert.Equal(t, [][]byte{seqd("joined", 1), seqd("left", 2), seqd("chat996", 3), seqd("chat997", 4),
		seqd("chat998", 5), seqd("roster999", 6), seqd("chat999", 7)}, b.Frames)
}

// TestDetachCompactsWhatALiveLinkLeftUnsent: frames queued while a link
// stalled are compacted when it is cut; the live peer itself still gets
// ErrFull past the limit.
func TestDetachCompactsWhatALiveLinkLeftUnsent(t *testing.T) {
	o := NewLimits(Limits{Frames: 8, Held: 2})
	l := NewLink()
	o.Attach(l, 0)
	for i := range 8 {
		require.NoError(t, o.PushPolicy(fmt.Appendf(nil, "e%d", i), Bounded))
	}
	assert.ErrorIs(t, o.PushPolicy([]byte("e8"), Bounded), ErrFull, "a live peer that does not read is told")
	l.Close(nil, nil)
	assert.Equal(t, 2, o.Unacked())
	require.NoError(t, o.Push([]byte("reply")))
	require.NoError(t, o.PushPolicy([]byte("e9"), Bounded))
	next := NewLink()
	o.Attach(next, 0)
	var b Batch
	next.Take(&b)
	assert.Equal(t, [][]byte{seqd("e7", 1), seqd("reply", 2), seqd("e9", 3)}, b.Frames)
}

// TestCompactionNeverTouchesWhatAClientMayHaveSeen: frames a link took are
// replayed as they were, even while held.
func TestCompactionNeverTouchesWhatAClientMayHaveSeen(t *testing.T) {
	o := NewLimits(Limits{Held: 1})
	l := NewLink()
	o.Attach(l, 0)
	require.NoError(t, o.PushPolicy([]byte("r1"), Latest))
	require.NoError(t, o.PushPolicy([]byte("e1"), Bounded))
	require.NoError(t, o.PushPolicy([]byte("e2"), Bounded))
	var b Batch
	l.Take(&b)
	l.Close(nil, nil)
	require.NoError(t, o.PushPolicy([]byte("r2"), Latest))
	require.NoError(t, o.PushPolicy([]byte("e3"), Bounded))
	require.NoError(t, o.PushPolicy([]byte("e4"), Bounded))
	next := NewLink()
	o.Attach(next, 1) // the client processed r1
	next.Take(&b)
	assert.Equal(t, [][]byte{seqd("e1", 2), seqd("e2", 3), seqd("r2", 4), seqd("e4", 5)}, b.Frames)
}

// TestResumeHasRoomAfterAFullHeldBacklog: a held session whose events
// filled what it may keep is not refused the first frame after its
// resume: the held backlog takes at most half the log, whatever Held says.
func TestResumeHasRoomAfterAFullHeldBacklog(t *testing.T) {
	o := NewLimits(Limits{Frames: 8, Held: 64})
	first := NewLink()
	o.Attach(first, 0)
	o.Detach(first) // held from here
	for i := range 20 {
		require.NoError(t, o.PushPolicy(fmt.Appendf(nil, "event %d", i), Bounded))
	}
	assert.Equal(t, 4, o.Unacked(), "half of the 8 frames")
	l := NewLink()
	o.Attach(l, 0)
	for i := range 4 {
		require.NoError(t, o.PushPolicy(fmt.Appendf(nil, "after %d", i), Keep), "frame %d after the resume", i)
	}
	assert.ErrorIs(t, o.PushPolicy([]byte("one too many"), Keep), ErrFull, "the log's own bound still holds")
}

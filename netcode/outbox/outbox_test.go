package outbox

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLatestSnapshotWins(t *testing.T) {
	o := New(0)
	for i := range 10 {
		require.True(t, o.OfferSnapshot([]byte{byte(i)}))
	}
	var b Batch
	assert.False(t, o.Take(&b))
	assert.Equal(t, [][]byte{{9}}, b.Frames)
	assert.Equal(t, uint64(9), o.Replaced())
	o.Take(&b)
	assert.Empty(t, b.Frames, "nothing pending after a take")
}

func TestSnapshotIsCopied(t *testing.T) {
	o := New(0)
	frame := []byte{1, 2, 3}
	o.OfferSnapshot(frame)
	frame[0] = 9
	var b Batch
	o.Take(&b)
	assert.Equal(t, []byte{1, 2, 3}, b.Frames[0])
}

// seqd is what Push makes of frame as reliable frame number seq: the frame
// with protobuf field 20 (varint seq) appended.
func seqd(frame string, seq uint32) []byte {
	b := append([]byte(frame), 0xa0, 0x01)
	return binary.AppendUvarint(b, uint64(seq))
}

func TestFramesKeepQueueOrder(t *testing.T) {
	o := New(4)
	require.NoError(t, o.Push([]byte("joined")))
	o.OfferSnapshot([]byte("s1"))
	o.OfferSnapshot([]byte("s2")) // replaces s1, and stands where it was offered
	require.NoError(t, o.Push([]byte("left")))
	var b Batch
	o.Take(&b)
	assert.Equal(t, [][]byte{seqd("joined", 1), []byte("s2"), seqd("left", 2)}, b.Frames)

	o.Ack(2)
	require.NoError(t, o.Push([]byte("a")))
	require.NoError(t, o.Push([]byte("b")))
	o.Take(&b)
	assert.Equal(t, [][]byte{seqd("a", 3), seqd("b", 4)}, b.Frames)
}

func TestPushDoesNotTouchTheCallersFrame(t *testing.T) {
	o, p := New(0), New(0)
	frame := make([]byte, 3, 64) // spare capacity: an in-place append would be shared
	copy(frame, "abc")
	require.NoError(t, o.Push(frame))
	require.NoError(t, p.Push([]byte("x")))
	require.NoError(t, p.Push(frame))
	var b Batch
	o.Take(&b)
	assert.Equal(t, [][]byte{seqd("abc", 1)}, b.Frames)
	p.Take(&b)
	assert.Equal(t, [][]byte{seqd("x", 1), seqd("abc", 2)}, b.Frames)
	assert.Equal(t, []byte("abc"), frame)
}

func TestReliableLimit(t *testing.T) {
	o := New(3)
	for range 3 {
		require.NoError(t, o.Push([]byte("x")))
	}
	assert.ErrorIs(t, o.Push([]byte("y")), ErrFull)
	var b Batch
	o.Take(&b)
	assert.Len(t, b.Frames, 3)
	assert.ErrorIs(t, o.Push([]byte("y")), ErrFull, "taken is not acknowledged")
	o.Ack(2)
	assert.Equal(t, 1, o.Unacked())
	assert.NoError(t, o.Push([]byte("z")), "room again after an ack")

	small := NewLimits(Limits{Frames: 100, Bytes: 20})
	require.NoError(t, small.Push(make([]byte, 10)))
	assert.ErrorIs(t, small.Push(make([]byte, 10)), ErrFull, "the byte bound holds too")
}

func TestAckIsClippedToWhatWasSent(t *testing.T) {
	o := New(0)
	require.NoError(t, o.Push([]byte("a")))
	o.Ack(5) // nothing was handed out yet: a lying ack forgets nothing
	assert.Equal(t, 1, o.Unacked())
	var b Batch
	o.Take(&b)
	o.Ack(5)
	assert.Zero(t, o.Unacked())
}

func TestCloseQueuesFinalFrameAfterPending(t *testing.T) {
	o := New(1)
	require.NoError(t, o.Push([]byte("a")))
	o.Close([]byte("bye"), ErrFull)
	o.Close([]byte("ignored"), nil)
	assert.ErrorIs(t, o.Reason(), ErrFull)
	assert.ErrorIs(t, o.Push([]byte("b")), ErrClosed)
	assert.False(t, o.OfferSnapshot([]byte("s")))
	var b Batch
	assert.True(t, o.Take(&b))
	assert.Equal(t, [][]byte{seqd("a", 1), []byte("bye")}, b.Frames)
	select {
	case <-o.Ready():
	default:
		t.Fatal("close must signal the writer")
	}
}

func TestConcurrentProducersOneWriter(t *testing.T) {
	o := New(1 << 20)
	const producers, each = 4, 1000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				_ = o.Push([]byte{byte(p), byte(i)})
				o.OfferSnapshot([]byte{byte(i)})
			}
		})
	}
	got := 0
	done := make(chan struct{})
	go func() {
		var b Batch
		for {
			<-o.Ready()
			closed := o.Take(&b)
			for _, f := range b.Frames {
				if len(f) > 1 { // reliable frames carry a seq; snapshots are one byte
					got++
				}
			}
			if closed {
				close(done)
				return
			}
		}
	}()
	wg.Wait()
	o.Close(nil, nil)
	<-done
	assert.Equal(t, producers*each, got)
}

func TestResumeReplaysUnacknowledgedFramesOnceInOrder(t *testing.T) {
	o := New(0)
	first := NewLink()
	assert.Nil(t, o.Attach(first, 0))
	for _, f := range []string{"a", "b", "c"} {
		require.NoError(t, o.Push([]byte(f)))
	}
	o.OfferSnapshot([]byte("s1"))
	var b Batch
	require.False(t, first.Take(&b))
	assert.Equal(t, [][]byte{seqd("a", 1), seqd("b", 2), seqd("c", 3), []byte("s1")}, b.Frames)
	o.Ack(1)

	// The connection dies: frames keep coming while the session is held.
	first.Close(nil, nil)
	assert.False(t, o.Attached())
	require.NoError(t, o.Push([]byte("d")))
	o.OfferSnapshot([]byte("s2"))
	assert.True(t, first.Take(&b), "a closed link only closes")
	assert.Empty(t, b.Frames)

	// The client resumes having processed up to b (its ack of b was lost).
	second := NewLink()
	require.True(t, second.Send([]byte("welcome")))
	assert.Nil(t, o.Attach(second, 2), "the dead link was already detached")
	select {
	case <-second.Ready():
	default:
		t.Fatal("attach signals the new link")
	}
	require.False(t, second.Take(&b))
	assert.Equal(t, [][]byte{[]byte("welcome"), seqd("c", 3), seqd("d", 4)}, b.Frames,
		"own frames first, then every unacknowledged frame once; the stale snapshot is dropped")
	assert.Equal(t, 2, o.Unacked())
	require.False(t, second.Take(&b))
	assert.Empty(t, b.Frames, "nothing twice")
}

func TestAttachTakesOverALiveLink(t *testing.T) {
	o := New(0)
	poll, ws := NewLink(), NewLink()
	o.Attach(poll, 0)
	require.NoError(t, o.Push([]byte("a")))
	prev := o.Attach(ws, 0)
	assert.Same(t, poll, prev)
	var b Batch
	assert.True(t, poll.Take(&b), "the old link must close")
	assert.Empty(t, b.Frames)
	assert.ErrorIs(t, poll.Reason(), ErrReplaced)
	require.False(t, ws.Take(&b))
	assert.Equal(t, [][]byte{seqd("a", 1)}, b.Frames)
}

func TestLinkCloseEndsOnlyTheConnection(t *testing.T) {
	o := New(0)
	l := NewLink()
	o.Attach(l, 0)
	require.NoError(t, o.Push([]byte("a")))
	l.Close([]byte("timeout"), ErrFull)
	var b Batch
	assert.True(t, l.Take(&b))
	assert.Equal(t, [][]byte{[]byte("timeout")}, b.Frames)
	assert.False(t, o.Closed())
	assert.Equal(t, 1, o.Pending(), "the frame waits for the next link")
	assert.False(t, l.Send([]byte("late")))
}

func TestOutboxCloseReachesTheLink(t *testing.T) {
	o := New(0)
	l := NewLink()
	o.Attach(l, 0)
	require.NoError(t, o.Push([]byte("a")))
	o.Close([]byte("bye"), ErrFull)
	var b Batch
	assert.True(t, l.Take(&b))
	assert.Equal(t, [][]byte{seqd("a", 1), []byte("bye")}, b.Frames)
	assert.ErrorIs(t, l.Reason(), ErrFull)
	<-o.Done()
}

func TestLinkOwnQueueIsBounded(t *testing.T) {
	l := NewLink()
	for range DefaultLinkLimit {
		require.True(t, l.Send([]byte("hb")))
	}
	assert.False(t, l.Send([]byte("hb")))
}

func BenchmarkOfferTake(b *testing.B) {
	o := New(0)
	frame := make([]byte, 120)
	var batch Batch
	b.ReportAllocs()
	for b.Loop() {
		o.OfferSnapshot(frame)
		o.Take(&batch)
	}
}

func TestDirectWriteWhenNothingWaits(t *testing.T) {
	o := New(0)
	l := NewLink()
	var direct [][]byte
	accept := true
	var writes [][][]byte
	l.SetDirect(func(fs [][]byte) bool {
		if !accept {
			return false
		}
		var w [][]byte
		for _, f := range fs {
			direct = append(direct, append([]byte(nil), f...))
			w = append(w, append([]byte(nil), f...))
		}
		writes = append(writes, w)
		return true
	})
	o.Attach(l, 0)
	var b Batch
	l.Take(&b)

	require.True(t, o.OfferSnapshot([]byte("s1")))
	assert.Equal(t, [][]byte{[]byte("s1")}, direct, "an idle link writes the snapshot at once")
	assert.Zero(t, o.Pending())

	require.NoError(t, o.Push([]byte("r")))
	o.OfferSnapshot([]byte("s2"))
	require.Len(t, writes, 2)
	assert.Equal(t, [][]byte{numbered("r", 1), []byte("s2")}, writes[1],
		"a waiting reliable frame goes first, numbered, in the same write as the snapshot")
	assert.Zero(t, o.Pending())
	l.Take(&b)
	assert.Empty(t, b.Frames, "nothing is written twice")

	accept = false
	require.NoError(t, o.Push([]byte("q")))
	o.OfferSnapshot([]byte("s3"))
	assert.Equal(t, 2, o.Pending(), "a refused direct write is queued")
	l.Take(&b)
	require.Len(t, b.Frames, 2)
	assert.Equal(t, numbered("q", 2), b.Frames[0], "a refused frame is numbered by the Take that sends it")
	assert.Equal(t, []byte("s3"), b.Frames[1])
	frames, _ := l.Taken()
	assert.Equal(t, uint64(5), frames, "direct writes count as taken")
}

// numbered is body as a link sends it: with sequence number seq appended
// (field SeqField).
func numbered(body string, seq uint32) []byte {
	b := binary.AppendUvarint([]byte(body), SeqField<<3)
	return binary.AppendUvarint(b, uint64(seq))
}

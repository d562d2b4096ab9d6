package outbox

import (
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

func TestFramesKeepQueueOrder(t *testing.T) {
	o := New(4)
	require.NoError(t, o.Push([]byte("joined")))
	o.OfferSnapshot([]byte("s1"))
	o.OfferSnapshot([]byte("s2")) // replaces s1, and stands where it was offered
	require.NoError(t, o.Push([]byte("left")))
	var b Batch
	o.Take(&b)
	assert.Equal(t, [][]byte{[]byte("joined"), []byte("s2"), []byte("left")}, b.Frames)

	require.NoError(t, o.Push([]byte("a")))
	require.NoError(t, o.Push([]byte("b")))
	o.Take(&b)
	assert.Equal(t, [][]byte{[]byte("a"), []byte("b")}, b.Frames)
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
	assert.NoError(t, o.Push([]byte("z")), "room again after a take")
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
	assert.Equal(t, [][]byte{[]byte("a"), []byte("bye")}, b.Frames)
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
				if len(f) == 2 {
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

package room

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/arenaserver/arena/sim"
)

func in(b sim.Buttons) sim.Input { return sim.Input{Buttons: b} }

func TestInputQueue(t *testing.T) {
	type step struct {
		add     []uint32 // seqs to add before the tick (buttons = seq)
		wantIn  sim.Buttons
		wantAck uint32
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"one per tick", []step{
			{[]uint32{1}, 1, 1}, {[]uint32{2}, 2, 2}, {[]uint32{3}, 3, 3},
		}},
		{"nothing before the first input claims nothing", []step{
			{nil, 0, 0}, {nil, 0, 0}, {[]uint32{5}, 5, 5},
		}},
		{"a missing input stands still and claims nothing; the late one comes next", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {[]uint32{2, 3}, 2, 2}, {nil, 3, 3},
		}},
		{"redundant resends apply once", []step{
			{[]uint32{1, 2}, 1, 1}, {[]uint32{1, 2, 3}, 2, 2}, {[]uint32{2, 3}, 3, 3}, {nil, 0, 3},
		}},
		{"out of order arrivals are sorted", []step{
			{[]uint32{3, 1, 2}, 1, 1}, {nil, 2, 2}, {nil, 3, 3},
		}},
		{"a stalled client resumes where it was", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1}, {nil, 0, 1},
			{[]uint32{2}, 2, 2},
		}},
		{"a jitter spike leaves a buffer behind", []step{
			{[]uint32{1}, 1, 1}, {nil, 0, 1}, {[]uint32{2}, 2, 2}, {[]uint32{3}, 3, 3}, {[]uint32{4, 5}, 4, 4},
			{[]uint32{6}, 5, 5}, {[]uint32{7}, 6, 6},
		}},
		{"a burst is applied one per tick", []step{
			{[]uint32{1, 2, 3, 4}, 1, 1}, {nil, 2, 2}, {nil, 3, 3}, {nil, 4, 4},
		}},
		{"a banked burst beyond the bound loses its oldest", []step{
			{[]uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3, 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q inputQueue
			for i, s := range tc.steps {
				for _, seq := range s.add {
					q.add(seq, []sim.Input{in(sim.Buttons(seq))})
				}
				got, ack := q.next()
				assert.Equal(t, in(s.wantIn), got, "step %d input", i)
				assert.Equal(t, s.wantAck, ack, "step %d ack", i)
			}
		})
	}
}

func TestInputQueueKeepsAimWhileStarved(t *testing.T) {
	var q inputQueue
	q.add(1, []sim.Input{{Buttons: sim.ButtonRight | sim.ButtonFire, Aim: 300}})
	q.next()
	got, ack := q.next()
	assert.Equal(t, sim.Input{Aim: 300}, got, "stands still, holds fire, keeps its aim")
	assert.Equal(t, uint32(1), ack)
	assert.Equal(t, uint64(1), q.starved)
}

func TestInputQueueBatchAdd(t *testing.T) {
	var q inputQueue
	assert.Equal(t, 3, q.add(10, []sim.Input{in(1), in(2), in(3)}))
	assert.Equal(t, 1, q.add(11, []sim.Input{in(2), in(3), in(4)}), "only seq 13 is new")
	got, ack := q.next()
	assert.Equal(t, in(1), got)
	assert.Equal(t, uint32(10), ack)
	assert.Zero(t, q.add(10, []sim.Input{in(9)}), "applied seqs are ignored")
	assert.Zero(t, q.add(0, []sim.Input{in(9)}), "seq 0 is never valid")
}

package gateway

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestViewTickOfOlderInputsInABatch(t *testing.T) {
	tests := []struct {
		newest uint32
		back   int
		want   uint32
	}{
		{500, 0, 500}, // the newest input carries the batch's view tick
		{500, 2, 498}, // one tick earlier per place
		{0, 0, 0},     // unknown stays unknown
		{2, 2, 0},     // never wraps below tick 1
		{3, 2, 1},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, viewTick(tc.newest, tc.back), "newest %d back %d", tc.newest, tc.back)
	}
}

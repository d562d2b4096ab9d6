package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestInputLog(t *testing.T) {
	var l inputLog
	t0 := time.Unix(0, 0)
	for i := range 5 {
		l.add([]byte{byte(i + 1), 7}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	first, batch := l.unacked(3)
	assert.Equal(t, uint32(3), first, "the newest three")
	assert.Len(t, batch, 3)
	assert.Equal(t, []byte{5, 7}, batch[2].bytes())

	lat := l.ack(4, t0.Add(10*time.Millisecond))
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 9 * time.Millisecond, 8 * time.Millisecond, 7 * time.Millisecond}, lat)
	first, batch = l.unacked(3)
	assert.Equal(t, uint32(5), first, "acknowledged inputs are not resent")
	assert.Len(t, batch, 1)
	assert.Empty(t, l.ack(4, t0), "a repeated ack covers nothing new")
	assert.Empty(t, l.ack(2, t0), "an older ack covers nothing new")
}

func TestInputLogBeforeAnyAck(t *testing.T) {
	var l inputLog
	l.add(nil, time.Now())
	first, batch := l.unacked(3)
	assert.Equal(t, uint32(1), first)
	assert.Len(t, batch, 1)
}

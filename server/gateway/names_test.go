package gateway

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"ann", "ann", ""},
		{"  ann \t", "ann", ""},
		{"", "player", ""},
		{"   ", "player", ""},
		{"Zoë 🙂", "Zoë 🙂", ""},
		{"李小龙", "李小龙", ""},
		{"a b", "a b", ""},
		{"a\x00b", "", "NUL"},
		{"a\nb", "", "line break"},
		{"\x1b[31mred", "", "escape"},
		{"a\x7fb", "", "control"},
		{"a\u0085b", "", "control"},
		{"abc\u202edcba", "", "bidirectional override"},
		{"a\u2067b", "", "isolate"},
		{"a\u200fb", "", "bidirectional mark"},
		{"a\u2028b", "", "separator"},
		{"a\u200bb", "", "invisible format"},
		{"a\ue000b", "", "private-use"},
		{"\xff", "", "UTF-8"},
		{"0123456789012345678901234", "", "25 bytes"},
		{"  012345678901234567890123  ", "012345678901234567890123", ""},
	}
	for _, tc := range tests {
		got, err := normalizeName(tc.in)
		if tc.err != "" {
			require.Error(t, err, "%q", tc.in)
			assert.Contains(t, err.Error(), tc.err, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

package gateway

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest display name, in bytes of UTF-8.
const maxName = 24

// errName is what every refused name wraps.
var errName = errors.New("name")

// normalizeName turns Hello.name into the display name everyone sees, or
// says what is wrong with it: surrounding spaces are trimmed (an empty
// name is "player"); what is left must be valid UTF-8 of at most 24 bytes
// of printable characters and spaces: no control characters (NUL,
// newline, the escape that starts ANSI sequences, DEL, C1 controls), no
// bidirectional overrides, isolates or marks (which reorder what follows
// the name on other players' screens), no other invisible format
// characters, line or paragraph separators, surrogates or private-use
// characters.
func normalizeName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w is not valid UTF-8", errName)
	}
	name := strings.TrimFunc(raw, unicode.IsSpace)
	if name == "" {
		return "player", nil
	}
	if len(name) > maxName {
		return "", fmt.Errorf("%w is %d bytes of UTF-8 (after trimming spaces); at most %d", errName, len(name), maxName)
	}
	for i, r := range name {
		if what := forbidden(r); what != "" {
			return "", fmt.Errorf("%w has %s (U+%04X) at byte %d; names are printable characters and spaces", errName, what, r, i)
		}
	}
	return name, nil
}

// forbidden names the kind of r when a display name may not hold it, or
// returns "".
func forbidden(r rune) string {
	switch {
	case r == 0:
		return "a NUL"
	case r == '\n' || r == '\r':
		return "a line break"
	case r == 0x1b:
		return "an escape (ANSI sequences)"
	case unicode.IsControl(r):
		return "a control character"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return "a bidirectional override or isolate"
	case r == 0x200e || r == 0x200f || r == 0x061c:
		return "a bidirectional mark"
	case r == 0x2028 || r == 0x2029:
		return "a line or paragraph separator"
	case unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r):
		return "a private-use or surrogate code point"
	case r == utf8.RuneError:
		return "a replacement character"
	case !unicode.IsGraphic(r):
		return "an unprintable character"
	}
	return ""
}

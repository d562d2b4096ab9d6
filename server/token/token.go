// Package token signs and checks session resume tokens: HMAC-SHA256 over
// the session id, a generation number and an expiry, with a server secret.
// A token proves that this server issued it for that session and when it
// stops being valid; single use is the session's business (it remembers
// which generations are spent).
//
// token imports only the standard library.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

var (
	// ErrInvalid means the bytes are not a token this signer made: forged,
	// damaged, or signed with another secret.
	ErrInvalid = errors.New("token: invalid signature or format")
	// ErrExpired means the token was genuine but its time is up.
	ErrExpired = errors.New("token: expired")
)

// SessionID names a session: 16 random bytes.
type SessionID [16]byte

// NewSessionID returns a random, unguessable id.
func NewSessionID() SessionID {
	var id SessionID
	_, _ = rand.Read(id[:])
	return id
}

func (id SessionID) String() string { return hex.EncodeToString(id[:]) }

// Claims are what a token says.
type Claims struct {
	Session SessionID
	// Gen numbers the tokens of one session; the session accepts only
	// generations it has not seen spent.
	Gen     uint32
	Expires time.Time // millisecond precision on the wire
}

const (
	version = 1
	bodyLen = 1 + 16 + 4 + 8
	// Len is the length of a token in bytes.
	Len = bodyLen + sha256.Size
)

// Signer signs and verifies tokens. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a signer with secret as its key. An empty secret gets a
// random 32-byte one: tokens then only work with this process.
func NewSigner(secret []byte) *Signer {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	return &Signer{key: append([]byte(nil), secret...)}
}

// Sign returns the token for c.
func (s *Signer) Sign(c Claims) []byte {
	b := make([]byte, 0, Len)
	b = append(b, version)
	b = append(b, c.Session[:]...)
	b = binary.BigEndian.AppendUint32(b, c.Gen)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Expires.UnixMilli()))
	return s.mac(b)
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(body)
}

// Verify checks tok's signature and expiry at now and returns its claims.
// Errors: ErrInvalid, or ErrExpired (with the claims, for a clearer
// message).
func (s *Signer) Verify(tok []byte, now time.Time) (Claims, error) {
	if len(tok) != Len || tok[0] != version {
		return Claims{}, ErrInvalid
	}
	want := s.mac(append(make([]byte, 0, Len), tok[:bodyLen]...))
	if !hmac.Equal(want[bodyLen:], tok[bodyLen:]) {
		return Claims{}, ErrInvalid
	}
	var c Claims
	copy(c.Session[:], tok[1:17])
	c.Gen = binary.BigEndian.Uint32(tok[17:21])
	c.Expires = time.UnixMilli(int64(binary.BigEndian.Uint64(tok[21:29])))
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

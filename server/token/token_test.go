package token

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignVerify(t *testing.T) {
	s := NewSigner([]byte("secret"))
	now := time.UnixMilli(1_800_000_000_000)
	c := Claims{Session: NewSessionID(), Gen: 7, Expires: now.Add(time.Minute)}
	tok := s.Sign(c)
	require.Len(t, tok, Len)

	got, err := s.Verify(tok, now)
	require.NoError(t, err)
	assert.Equal(t, c.Session, got.Session)
	assert.Equal(t, c.Gen, got.Gen)
	assert.True(t, c.Expires.Equal(got.Expires))

	_, err = s.Verify(tok, now.Add(time.Minute))
	assert.ErrorIs(t, err, ErrExpired)

	_, err = NewSigner([]byte("other")).Verify(tok, now)
	assert.ErrorIs(t, err, ErrInvalid, "another server's secret")

	for i := range tok {
		bad := append([]byte(nil), tok...)
		bad[i] ^= 0x01
		_, err := s.Verify(bad, now)
		assert.ErrorIs(t, err, ErrInvalid, "byte %d flipped", i)
	}
	_, err = s.Verify(tok[:Len-1], now)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = s.Verify(nil, now)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestRandomSecretsDiffer(t *testing.T) {
	c := Claims{Session: NewSessionID(), Expires: time.Now().Add(time.Hour)}
	tok := NewSigner(nil).Sign(c)
	_, err := NewSigner(nil).Verify(tok, time.Now())
	assert.ErrorIs(t, err, ErrInvalid)
	assert.NotEqual(t, NewSessionID(), NewSessionID())
}

func FuzzVerify(f *testing.F) {
	s := NewSigner([]byte("k"))
	f.Add(s.Sign(Claims{Gen: 1, Expires: time.UnixMilli(2e12)}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = s.Verify(b, time.UnixMilli(1e12))
	})
}

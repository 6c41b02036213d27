// Package seal encrypts what opsgate keeps in Redis — masked values,
// queued jobs, incident records, proposals, knowledge-base tickets — with
// AES-256-GCM, so that reading Redis (or a dump of it) reveals nothing and
// changing a sealed value is detected when it is opened.
//
// A Keyring holds several keys for rotation: the first seals, any opens.
// Each sealed value names its key by a short id, so opening needs no
// trial decryption, and binds an "additional data" string chosen by the
// caller (usually the Redis key): a value copied under another key does
// not open.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Errors to branch on.
var (
	// ErrNotSealed: the value is not a sealed value at all (written by
	// someone without the key, or by an older opsgate).
	ErrNotSealed = errors.New("seal: not a sealed value")
	// ErrUnknownKey: sealed under a key the keyring does not hold
	// (rotated out, or another deployment's).
	ErrUnknownKey = errors.New("seal: sealed under an unknown key")
	// ErrForged: the value or its additional data was changed, or it was
	// sealed for another place.
	ErrForged = errors.New("seal: authentication failed")
	// ErrBadKey: a configured key is not 32 bytes in base64 or hex.
	ErrBadKey = errors.New("seal: a key must be 32 bytes, base64- or hex-encoded")
)

// prefix starts every sealed value: version 1, then the key id.
const prefix = "s1."

type key struct {
	id   string // 8 hex digits of the key's SHA-256: names the key, reveals nothing
	aead cipher.AEAD
}

// Keyring seals with its first key and opens with any of them.
type Keyring struct{ keys []key }

// DecodeKey reads one key: standard or URL-safe base64 (padded or not),
// or hex. It never echoes the value in an error.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 64 { // 32+ bytes in hex; base64 of 32 bytes is 43-44 characters
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, ErrBadKey
}

// New returns a keyring of raw 32-byte keys, the first sealing.
func New(raw ...[]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrBadKey)
	}
	k := &Keyring{}
	seen := map[string]bool{}
	for _, r := range raw {
		if len(r) != 32 {
			return nil, ErrBadKey
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("opsgate seal key id\x00"), r...))
		id := hex.EncodeToString(sum[:4])
		if seen[id] {
			continue
		}
		seen[id] = true
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	return k, nil
}

// Parse builds a keyring from encoded keys (see DecodeKey), the first
// sealing.
func Parse(encoded ...string) (*Keyring, error) {
	raw := make([][]byte, 0, len(encoded))
	for i, e := range encoded {
		b, err := DecodeKey(e)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(encoded), ErrBadKey)
		}
		raw = append(raw, b)
	}
	return New(raw...)
}

// GenerateKey returns a fresh random key, base64-encoded (what
// `openssl rand -base64 32` prints).
func GenerateKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.StdEncoding.EncodeToString(b)
}

// KeyID names the sealing key (for logs and docs; not secret).
func (k *Keyring) KeyID() string { return k.keys[0].id }

// Seal encrypts plain under the first key, bound to aad.
func (k *Keyring) Seal(plain, aad []byte) []byte {
	first := k.keys[0]
	nonce := make([]byte, first.aead.NonceSize())
	_, _ = rand.Read(nonce)
	ct := first.aead.Seal(nonce, nonce, plain, aad)
	out := make([]byte, 0, len(prefix)+len(first.id)+1+base64.RawURLEncoding.EncodedLen(len(ct)))
	out = append(out, prefix...)
	out = append(out, first.id...)
	out = append(out, '.')
	return base64.RawURLEncoding.AppendEncode(out, ct)
}

// SealString is Seal for strings.
func (k *Keyring) SealString(plain, aad string) string {
	return string(k.Seal([]byte(plain), []byte(aad)))
}

// Open decrypts a sealed value bound to aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, ErrNotSealed
	}
	rest := sealed[len(prefix):]
	id, body, ok := bytes.Cut(rest, []byte("."))
	if !ok {
		return nil, ErrNotSealed
	}
	for _, key := range k.keys {
		if key.id != string(id) {
			continue
		}
		ct, err := base64.RawURLEncoding.DecodeString(string(body))
		if err != nil || len(ct) < key.aead.NonceSize()+key.aead.Overhead() {
			return nil, ErrForged
		}
		plain, err := key.aead.Open(nil, ct[:key.aead.NonceSize()], ct[key.aead.NonceSize():], aad)
		if err != nil {
			return nil, ErrForged
		}
		return plain, nil
	}
	return nil, ErrUnknownKey
}

// OpenString is Open for strings.
func (k *Keyring) OpenString(sealed, aad string) (string, error) {
	b, err := k.Open([]byte(sealed), []byte(aad))
	return string(b), err
}

// binPrefix starts a binary sealed value: "s1b", the 8-byte key id as
// written in text form, then nonce and ciphertext raw. For large values
// (index snapshots) base64 would cost a third more bytes and a pass.
const binPrefix = "s1b"

// SealBinary is Seal without the text encoding.
func (k *Keyring) SealBinary(plain, aad []byte) []byte {
	first := k.keys[0]
	out := make([]byte, 0, len(binPrefix)+len(first.id)+first.aead.NonceSize()+len(plain)+first.aead.Overhead())
	out = append(out, binPrefix...)
	out = append(out, first.id...)
	nonce := make([]byte, first.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return first.aead.Seal(out, nonce, plain, aad)
}

// OpenBinary opens what SealBinary sealed, decrypting in place: sealed is
// overwritten.
func (k *Keyring) OpenBinary(sealed, aad []byte) ([]byte, error) {
	if !bytes.HasPrefix(sealed, []byte(binPrefix)) || len(sealed) < len(binPrefix)+8 {
		return nil, ErrNotSealed
	}
	id := string(sealed[len(binPrefix) : len(binPrefix)+8])
	body := sealed[len(binPrefix)+8:]
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		if len(body) < key.aead.NonceSize()+key.aead.Overhead() {
			return nil, ErrForged
		}
		// Decrypted in place: the caller's buffer is the plaintext's (no
		// second copy of a large value).
		ct := body[key.aead.NonceSize():]
		plain, err := key.aead.Open(ct[:0], body[:key.aead.NonceSize()], ct, aad)
		if err != nil {
			return nil, ErrForged
		}
		return plain, nil
	}
	return nil, ErrUnknownKey
}

// IsSealed reports whether b looks like a sealed value (it may still fail
// to open).
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, []byte(prefix)) }

// Ephemeral returns a keyring of one fresh random key: for the demo, the
// embedded store and tests, whose data does not outlive the process.
func Ephemeral() *Keyring {
	k, err := Parse(GenerateKey())
	if err != nil {
		panic(err) // a generated key is always 32 bytes
	}
	return k
}

package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/bot/seal"
)

func ring(t testing.TB, keys ...string) *seal.Keyring {
	t.Helper()
	k, err := seal.Parse(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpensOnlyWithItsKeyAndPlace(t *testing.T) {
	a, b := seal.GenerateKey(), seal.GenerateKey()
	k := ring(t, a)
	s := k.Seal([]byte("password=hunter2pass"), []byte("opsgate:redact:P1"))
	if bytes.Contains(s, []byte("hunter2")) || !seal.IsSealed(s) {
		t.Fatalf("sealed value shows its plaintext or lacks the prefix: %s", s)
	}
	if again := k.Seal([]byte("password=hunter2pass"), []byte("opsgate:redact:P1")); bytes.Equal(again, s) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := k.Open(s, []byte("opsgate:redact:P1"))
	if err != nil || string(got) != "password=hunter2pass" {
		t.Fatal(string(got), err)
	}
	if _, err := k.Open(s, []byte("opsgate:redact:P2")); !errors.Is(err, seal.ErrForged) {
		t.Fatalf("opened under another key name: %v", err)
	}
	// Every single-character change is detected.
	for i := len("s1.12345678."); i < len(s); i++ {
		bad := bytes.Clone(s)
		bad[i] ^= 1
		if _, err := k.Open(bad, []byte("opsgate:redact:P1")); err == nil {
			t.Fatalf("changed byte %d opened", i)
		}
	}
	if _, err := ring(t, b).Open(s, []byte("opsgate:redact:P1")); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("another key opened it: %v", err)
	}
	for _, plain := range []string{"", "plain text", "s1.", "s1.abcd", "s1.00000000"} {
		if _, err := k.Open([]byte(plain), nil); err == nil {
			t.Fatalf("%q opened", plain)
		}
	}
	if _, err := k.Open([]byte("plain"), nil); !errors.Is(err, seal.ErrNotSealed) {
		t.Fatal(err)
	}
}

func TestRotationSealsWithTheFirstKeyAndOpensWithAny(t *testing.T) {
	old, cur := seal.GenerateKey(), seal.GenerateKey()
	before := ring(t, old).SealString("v", "k")
	rotated := ring(t, cur, old)
	if got, err := rotated.OpenString(before, "k"); err != nil || got != "v" {
		t.Fatal(got, err)
	}
	after := rotated.SealString("v", "k")
	if _, err := ring(t, old).OpenString(after, "k"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("the new value was sealed with the old key: %v", err)
	}
	if got, err := ring(t, cur).OpenString(after, "k"); err != nil || got != "v" {
		t.Fatal(got, err)
	}
	if ring(t, cur, old).KeyID() != ring(t, cur).KeyID() || ring(t, cur).KeyID() == ring(t, old).KeyID() {
		t.Fatal("key ids do not name the sealing key")
	}
}

func TestKeysAreDecodedInEveryCommonEncodingAndBadOnesRefused(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32) // base64 of 0xfb bytes uses + and / (or - and _)
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), " " + hex.EncodeToString(raw) + "\n",
	} {
		b, err := seal.DecodeKey(enc)
		if err != nil || !bytes.Equal(b, raw) {
			t.Errorf("%q: %x %v", enc, b, err)
		}
	}
	for _, bad := range []string{"", "short", "hunter2hunter2hunter2hunter2hunter2hunter2", base64.StdEncoding.EncodeToString(raw[:16]), hex.EncodeToString(raw[:31])} {
		_, err := seal.Parse(bad)
		if !errors.Is(err, seal.ErrBadKey) {
			t.Errorf("%q accepted: %v", bad, err)
		}
		if err != nil && bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error echoes the key: %v", err)
		}
	}
	if _, err := seal.Parse(); !errors.Is(err, seal.ErrBadKey) {
		t.Fatal("an empty keyring was made")
	}
}

func FuzzOpen(f *testing.F) {
	k := ring(f, seal.GenerateKey())
	f.Add(k.Seal([]byte("x"), []byte("a")), []byte("a"))
	f.Add([]byte("s1.00000000.AAAA"), []byte(""))
	f.Add([]byte("s1."), []byte(""))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		plain, err := k.Open(sealed, aad)
		if err != nil {
			return
		}
		// Whatever opens must have been sealed by this key: re-sealing and
		// opening gives it back.
		if got, err := k.Open(k.Seal(plain, aad), aad); err != nil || !bytes.Equal(got, plain) {
			t.Fatal(err)
		}
	})
}

func TestBinarySealing(t *testing.T) {
	k := ring(t, seal.GenerateKey())
	big := bytes.Repeat([]byte("postings "), 100000)
	s := k.SealBinary(big, []byte("snap:1/2"))
	if len(s) > len(big)+64 || bytes.Contains(s, []byte("postings")) {
		t.Fatalf("%d bytes for %d, or plaintext", len(s), len(big))
	}
	got, err := k.OpenBinary(s, []byte("snap:1/2"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatal(err)
	}
	if _, err := k.OpenBinary(s, []byte("snap:1/3")); !errors.Is(err, seal.ErrForged) {
		t.Fatalf("opened in another place: %v", err)
	}
	bad := bytes.Clone(s)
	bad[len(bad)-1] ^= 1
	if _, err := k.OpenBinary(bad, []byte("snap:1/2")); !errors.Is(err, seal.ErrForged) {
		t.Fatal(err)
	}
	if _, err := ring(t, seal.GenerateKey()).OpenBinary(s, []byte("snap:1/2")); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatal(err)
	}
	if _, err := k.OpenBinary(big[:100], nil); !errors.Is(err, seal.ErrNotSealed) {
		t.Fatal(err)
	}
}

func FuzzOpenBinary(f *testing.F) {
	k := ring(f, seal.GenerateKey())
	f.Add(k.SealBinary([]byte("x"), []byte("a")), []byte("a"))
	f.Add([]byte("s1b12345678"), []byte(""))
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		if plain, err := k.OpenBinary(sealed, aad); err == nil {
			if got, err := k.OpenBinary(k.SealBinary(plain, aad), aad); err != nil || !bytes.Equal(got, plain) {
				t.Fatal(err)
			}
		}
	})
}

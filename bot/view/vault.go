// Package view is the one place where raw incident text becomes text that
// may leave opsgate: every mask goes through an incident's session in the
// vault, whose placeholders are allocated atomically in Redis, so the same
// value is the same placeholder everywhere and one placeholder never
// stands for two values — across concurrent sessions, replicas and
// restarts.
package view

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/redact"
)

// Key holds an incident's placeholder → value map (and its generation).
func Key(incidentID string) string { return "opsgate:redact:" + incidentID }

// genField counts the map's writes; a placeholder starts with '[', so it
// can never be mistaken for one.
const genField = "#gen"

// save adds the new placeholders only if nobody added any since the
// session was loaded (the generation is unchanged): otherwise two sessions
// could number two values alike.
var save = redis.NewScript(`
local gen = redis.call('HGET', KEYS[1], '#gen') or '0'
if gen ~= ARGV[1] then return -1 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
local n = redis.call('HINCRBY', KEYS[1], '#gen', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`)

// ErrContention: the incident's placeholders kept changing under the
// session (retry later).
var ErrContention = errors.New("view: placeholders changed under every attempt")

// maxAttempts bounds re-masking: each conflict means another session
// stored its placeholders, so this many concurrent writers of one incident
// at once would be needed to exhaust it.
const maxAttempts = 64

// Sealer encrypts the masked values (a *seal.Keyring).
type Sealer interface {
	Seal(plain, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

// ErrSealed: a stored value does not open under the vault keys (written
// or edited by someone without them, or sealed with a key since removed).
var ErrSealed = errors.New("view: a masked value does not open under the vault keys")

// Vault keeps each incident's placeholders.
type Vault struct {
	rdb    redis.Cmdable
	engine *redact.Engine
	ttl    time.Duration
	// Keys encrypt each masked value in Redis, bound to its incident and
	// placeholder (nil: plaintext — tests only).
	Keys Sealer
}

// NewVault returns a vault whose maps expire ttl after their last change.
func NewVault(rdb redis.Cmdable, engine *redact.Engine, ttl time.Duration) *Vault {
	return &Vault{rdb: rdb, engine: engine, ttl: ttl}
}

func aad(incidentID, placeholder string) []byte {
	return []byte("opsgate vault v1\x00" + incidentID + "\x00" + placeholder)
}

// read returns the incident's placeholder → value map, opened, and its
// generation.
func (v *Vault) read(ctx context.Context, incidentID string) (map[string]string, string, error) {
	m, err := v.rdb.HGetAll(ctx, Key(incidentID)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("vault %s: %w", incidentID, err)
	}
	gen := m[genField]
	if gen == "" {
		gen = "0"
	}
	delete(m, genField)
	if v.Keys != nil {
		for p, sealed := range m {
			plain, err := v.Keys.Open([]byte(sealed), aad(incidentID, p))
			if err != nil {
				return nil, "", fmt.Errorf("vault %s: %s: %w: %w", incidentID, p, ErrSealed, err)
			}
			m[p] = string(plain)
		}
	}
	return m, gen, nil
}

// load returns a session primed with the incident's map and the map's
// generation.
func (v *Vault) load(ctx context.Context, incidentID string) (*redact.Session, string, error) {
	m, gen, err := v.read(ctx, incidentID)
	if err != nil {
		return nil, "", err
	}
	s := v.engine.NewSession()
	if err := s.Load(m); err != nil {
		return nil, "", fmt.Errorf("vault %s: %w", incidentID, err)
	}
	s.Drain()
	return s, gen, nil
}

// Mask runs fn with a session of the incident, then stores the
// placeholders fn created. If another session stored placeholders
// meanwhile, fn runs again on a fresh session (so fn must only compute:
// its results are what the last run left). It returns how many values the
// incident's session masks in all.
func (v *Vault) Mask(ctx context.Context, incidentID string, fn func(s *redact.Session)) (int, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		s, gen, err := v.load(ctx, incidentID)
		if err != nil {
			return 0, err
		}
		fn(s)
		added := s.Drain()
		if len(added) == 0 {
			return s.Len(), nil // only placeholders that exist: nothing to agree on
		}
		args := make([]any, 0, 2+2*len(added))
		args = append(args, gen, v.ttl.Milliseconds())
		for p, val := range added {
			if v.Keys != nil {
				val = string(v.Keys.Seal([]byte(val), aad(incidentID, p)))
			}
			args = append(args, p, val)
		}
		n, err := save.Run(ctx, v.rdb, []string{Key(incidentID)}, args...).Int64()
		if err != nil {
			return 0, fmt.Errorf("vault %s: %w", incidentID, err)
		}
		if n >= 0 {
			return s.Len(), nil
		}
	}
	return 0, fmt.Errorf("vault %s: %w", incidentID, ErrContention)
}

// Texts masks each text in place; when masking is unavailable the texts
// are withheld (fail closed) and the error returned.
func (v *Vault) Texts(ctx context.Context, incidentID string, texts ...*string) error {
	out := make([]string, len(texts))
	_, err := v.Mask(ctx, incidentID, func(s *redact.Session) {
		for i, t := range texts {
			out[i] = s.String(*t)
		}
	})
	for i, t := range texts {
		switch {
		case err == nil:
			*t = out[i]
		case *t != "":
			*t = "(withheld: masking unavailable)"
		}
	}
	return err
}

// Reveal returns the incident's placeholder → value map (for an authorised
// approver only).
func (v *Vault) Reveal(ctx context.Context, incidentID string) (map[string]string, error) {
	m, _, err := v.read(ctx, incidentID)
	return m, err
}

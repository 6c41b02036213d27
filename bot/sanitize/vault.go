// Package sanitize applies the redaction engine at opsgate's boundaries:
// per-incident sessions whose placeholder → value maps live in Redis (the
// vault, never sent to an LLM), and a last-line guard on every outbound
// Slack message and LLM request.
package sanitize

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/redact"
)

// VaultKey holds an incident's placeholder → value map.
func VaultKey(incidentID string) string { return "opsgate:redact:" + incidentID }

// Vault keeps each incident's placeholders consistent across replicas and
// restarts. Callers serialise sessions of one incident (the incident lease).
type Vault struct {
	rdb    redis.Cmdable
	engine *redact.Engine
	ttl    time.Duration
}

// NewVault returns a vault whose maps expire ttl after their last change.
func NewVault(rdb redis.Cmdable, engine *redact.Engine, ttl time.Duration) *Vault {
	return &Vault{rdb: rdb, engine: engine, ttl: ttl}
}

// Engine is the vault's redaction engine.
// Session returns a session primed with the incident's stored map.
func (v *Vault) Session(ctx context.Context, incidentID string) (*redact.Session, error) {
	m, err := v.rdb.HGetAll(ctx, VaultKey(incidentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w", incidentID, err)
	}
	s := v.engine.NewSession()
	if err := s.Load(m); err != nil {
		return nil, fmt.Errorf("vault %s: %w", incidentID, err)
	}
	s.Drain()
	return s, nil
}

// Save stores the placeholders the session created since it was loaded.
func (v *Vault) Save(ctx context.Context, incidentID string, s *redact.Session) error {
	m := s.Drain()
	if len(m) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(m))
	for p, val := range m {
		args = append(args, p, val)
	}
	_, err := v.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, VaultKey(incidentID), args...)
		p.PExpire(ctx, VaultKey(incidentID), v.ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("vault %s: %w", incidentID, err)
	}
	return nil
}

// Reveal returns the incident's map (for an authorised approver only).
func (v *Vault) Reveal(ctx context.Context, incidentID string) (map[string]string, error) {
	m, err := v.rdb.HGetAll(ctx, VaultKey(incidentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w", incidentID, err)
	}
	return m, nil
}

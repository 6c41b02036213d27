package config

import (
	"time"

	"github.com/opsgate/opsgate/bot/seal"
)

// validateKeys checks the audit and vault keys' shape (never echoing them)
// and the anchoring settings.
func (e *Env) validateKeys() error {
	if e.AuditKey != "" {
		if b, err := seal.DecodeKey(e.AuditKey.Reveal()); err != nil || len(b) < 32 {
			return bad("OPSGATE_AUDIT_KEY", "must be at least 32 bytes, base64- or hex-encoded")
		}
	}
	if len(e.VaultKeys) > 0 {
		if _, err := seal.Parse(e.VaultKeys.Reveal()...); err != nil {
			return bad("OPSGATE_VAULT_KEY", err.Error())
		}
	}
	// Zero durations and counts mean the default (an Env built in code
	// leaves them unset).
	if e.AuditAnchorEvery < 0 {
		return bad("OPSGATE_AUDIT_ANCHOR_EVERY", "must be at least 1")
	}
	if e.AuditAnchorInterval != 0 && e.AuditAnchorInterval < time.Second {
		return bad("OPSGATE_AUDIT_ANCHOR_INTERVAL", "must be at least 1s")
	}
	if e.AuditRetention != 0 && (e.AuditRetention < time.Hour || e.AuditAnchor == "") {
		return bad("OPSGATE_AUDIT_RETENTION", "must be at least 1h and needs OPSGATE_AUDIT_ANCHOR (the trim stops at an anchored checkpoint)")
	}
	if e.VaultTTL != 0 && e.VaultTTL < time.Hour {
		return bad("OPSGATE_VAULT_TTL", "must be at least 1h")
	}
	return nil
}

// DefaultVaultTTL is OPSGATE_VAULT_TTL's default: as long as an incident
// record lives, so a placeholder keeps its meaning for the incident's life.
const DefaultVaultTTL = 90 * 24 * time.Hour

// VaultTTLOrDefault is OPSGATE_VAULT_TTL, defaulted.
func (e *Env) VaultTTLOrDefault() time.Duration {
	if e.VaultTTL == 0 {
		return DefaultVaultTTL
	}
	return e.VaultTTL
}

// AuditKeyBytes is the decoded audit key (nil when unset).
func (e *Env) AuditKeyBytes() []byte {
	if e.AuditKey == "" {
		return nil
	}
	b, _ := seal.DecodeKey(e.AuditKey.Reveal())
	return b
}

// Keyring is the vault keyring (nil when OPSGATE_VAULT_KEY is unset).
func (e *Env) Keyring() *seal.Keyring {
	if len(e.VaultKeys) == 0 {
		return nil
	}
	k, _ := seal.Parse(e.VaultKeys.Reveal()...)
	return k
}

// slackID reports whether s looks like a Slack id starting with one of
// the given letters.
func slackID(s string, first ...byte) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	ok := false
	for _, f := range first {
		ok = ok || s[0] == f
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return ok
}

package config

import (
	"log/slog"
	"strings"
)

// Secret is a string that never prints: fmt, slog, JSON and YAML all see
// "<secret>" (or "" when unset). Use Reveal where the value is needed.
type Secret string

const redacted = "<secret>"

// Reveal returns the value.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Secrets is a comma-separated list of secrets (for rotation).
type Secrets []Secret

// Decode implements envconfig.Decoder; it never echoes the value.
func (ss *Secrets) Decode(v string) error {
	*ss = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*ss = append(*ss, Secret(p))
		}
	}
	return nil
}

// Reveal returns the values.
func (ss Secrets) Reveal() []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Reveal()
	}
	return out
}

// String hides the values.
func (ss Secrets) String() string {
	if len(ss) == 0 {
		return ""
	}
	return redacted
}

// LogValue hides the values from slog.
func (ss Secrets) LogValue() slog.Value { return slog.StringValue(ss.String()) }

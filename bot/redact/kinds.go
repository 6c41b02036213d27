// Package redact finds secrets and personal data in text and replaces them
// with consistent, typed placeholders ([IP_ADDRESS_1], [PASSWORD_2], ...).
//
// The engine is one pass over the bytes: text is cut into tokens at
// whitespace, quotes and brackets; each token is classified by a few cheap
// byte tests and only then handed to the detector its shape calls for (an
// IP parser, a URL splitter, a table of well-known secret prefixes, a
// key=value reader that knows which keys hold secrets, user names, host
// names). A small amount of context — the previous tokens — catches values
// that only their neighbours identify ("for user alice from",
// "Authorization: Bearer …", "password": "…").
package redact

import "slices"

// Kind is the type of a finding; it names the placeholder.
type Kind string

// Kinds of findings.
const (
	KindIP          Kind = "IP_ADDRESS"
	KindEmail       Kind = "EMAIL_ADDRESS"
	KindHost        Kind = "HOSTNAME"
	KindMAC         Kind = "MAC_ADDRESS"
	KindCredentials Kind = "CREDENTIALS" // earlier versions' user:password (pairs are now USERNAME + PASSWORD); kept for stored placeholders
	KindAuth        Kind = "AUTH_TOKEN"  // Authorization / Bearer / Basic values
	KindJWT         Kind = "JWT"
	KindPrivateKey  Kind = "PRIVATE_KEY"
	KindAWSKey      Kind = "AWS_ACCESS_KEY"
	KindGCPKey      Kind = "GCP_API_KEY"
	KindGitHub      Kind = "GITHUB_TOKEN"
	KindGitLab      Kind = "GITLAB_TOKEN"
	KindSlack       Kind = "SLACK_TOKEN"
	KindStripe      Kind = "STRIPE_KEY"
	KindAPIKey      Kind = "API_KEY" // other well-known token formats
	KindPassword    Kind = "PASSWORD"
	KindSecret      Kind = "SECRET" // values of secret-named keys (token=, api_key:, ...)
	KindCard        Kind = "CREDIT_CARD"
	KindPhone       Kind = "PHONE_NUMBER"
	KindUser        Kind = "USERNAME"
	KindName        Kind = "PERSON_NAME" // a person's name (given + family, or an e-mail's display name)
)

// secretKinds are never shown to humans except through Reveal.
var secretKinds = map[Kind]bool{
	KindCredentials: true, KindAuth: true, KindJWT: true, KindPrivateKey: true, KindAWSKey: true, KindGCPKey: true,
	KindGitHub: true, KindGitLab: true, KindSlack: true, KindStripe: true, KindAPIKey: true, KindPassword: true,
	KindSecret: true, KindCard: true,
}

// SecretKinds lists the credential kinds (what the last-line guard masks).
func SecretKinds() []Kind {
	out := make([]Kind, 0, len(secretKinds))
	for k := range secretKinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// IsSecret reports whether a kind is a credential (as opposed to PII).
func IsSecret(k Kind) bool { return secretKinds[k] }

// Finding is one detected value: bytes [Start, End) of the input line.
type Finding struct {
	Kind        Kind   `json:"type"`
	Start       int    `json:"start"`
	End         int    `json:"end"`
	Placeholder string `json:"placeholder,omitempty"`
}

// rank orders kinds when findings overlap: a credential beats the host or
// user it overlaps.
func rank(k Kind) int {
	switch k {
	case KindPrivateKey:
		return 9
	case KindCredentials, KindAuth, KindJWT, KindAWSKey, KindGCPKey, KindGitHub, KindGitLab, KindSlack, KindStripe:
		return 8
	case KindPassword, KindSecret, KindAPIKey:
		return 7
	case KindCard:
		return 6
	case KindEmail:
		return 5
	case KindIP, KindMAC:
		return 4
	case KindPhone:
		return 3
	case KindHost:
		return 2
	}
	return 1
}

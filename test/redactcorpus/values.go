// Package redactcorpus generates realistic log lines with planted secrets
// and personal data, for measuring redaction where the engine was not
// tuned: every shape has templates in two disjoint halves (Tune, the part
// the engine may be fitted to; Holdout, the part only measured on), and
// the value pools (user names, hosts, words in passwords) differ between
// the halves too. Lines come in "incidents": one incident draws its values
// from a small pool, so the same value appears in several lines and
// shapes, which measures whether a repeated value keeps its placeholder.
package redactcorpus

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Split names a half of the corpus.
type Split int

// The two halves.
const (
	Tune Split = iota
	Holdout
)

func (s Split) String() string { return [...]string{"tune", "holdout"}[s] }

type pools struct {
	users, first, last, domains, internal, words []string
}

var byStart = [2]pools{
	{ // Tune
		users:    []string{"jdoe", "svc_deploy", "maria.garcia", "app_rw", "ci-bot", "kowalski", "etl_loader", "reporting", "nhansen", "opsadmin"},
		first:    []string{"Alice", "Michael", "Priya", "Carlos", "Yuki", "Fatima", "Olga", "Daniel"},
		last:     []string{"Johnson", "Okafor", "Schneider", "Tanaka", "Moreau", "Kowalczyk", "Haddad", "Lindqvist"},
		domains:  []string{"acme-corp.com", "globex.io", "initech.net", "umbrella-health.org"},
		internal: []string{"prod.acme.internal", "svc.cluster.local"},
		words:    []string{"Tr0ub4dor", "Winter", "Sunflower", "Kestrel", "Marmot", "Quasar"},
	},
	{ // Holdout
		users:    []string{"bwayne", "svc_billing", "ana.lopez", "ro_user", "jenkins", "nakamura", "batch_sync", "analytics", "tpetrov", "dbadmin"},
		first:    []string{"Grace", "Ahmed", "Sofia", "Liam", "Mei", "Jonas", "Aisha", "Mateo"},
		last:     []string{"Whitfield", "Nwosu", "Brandt", "Yamamoto", "Dubois", "Nowak", "Rahman", "Sorensen"},
		domains:  []string{"contoso.com", "hooli.dev", "stark-industries.co", "wayne-ent.net"},
		internal: []string{"corp.hooli.internal", "svc.cluster.local"},
		words:    []string{"Falcon", "Autumn", "Lantern", "Osprey", "Nimbus", "Glacier"},
	},
}

// Config is the redaction config the corpus assumes: the internal domains
// its host names use (as an operator would configure them).
const Config = "redaction:\n  internal_domains: [acme.internal, hooli.internal, cluster.local]\n"

// values is one incident's pool: the values its lines may plant.
type values struct {
	r                    *rand.Rand
	p                    pools
	users, passwords     []string
	hosts, ips, emails   []string
	names                []string
	tokens, phones       []string
	cards                []string
	awsKeys, awsSecrets  []string
	reservedPasswords    []string
	usedUser, usedPasswd string
}

func newValues(r *rand.Rand, split Split) *values {
	v := &values{r: r, p: byStart[split]}
	for i := 0; i < 3; i++ {
		v.users = append(v.users, pick(r, v.p.users))
		v.passwords = append(v.passwords, v.password())
		v.reservedPasswords = append(v.reservedPasswords, v.reservedPassword())
		v.hosts = append(v.hosts, v.host())
		v.ips = append(v.ips, v.ip())
		first, last := pick(r, v.p.first), pick(r, v.p.last)
		v.names = append(v.names, first+" "+last)
		v.emails = append(v.emails, strings.ToLower(first)+"."+strings.ToLower(last)+"@"+pick(r, v.p.domains))
		v.tokens = append(v.tokens, randAlnum(r, 32+r.IntN(9)))
		v.phones = append(v.phones, v.phone())
		v.cards = append(v.cards, v.card())
		v.awsKeys = append(v.awsKeys, "AKIA"+randFrom(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
		v.awsSecrets = append(v.awsSecrets, randFrom(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40))
	}
	return v
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randFrom(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randAlnum(r *rand.Rand, n int) string { return randFrom(r, alnum, n) }

func (v *values) password() string {
	w := pick(v.r, v.p.words)
	switch v.r.IntN(4) {
	case 0:
		return fmt.Sprintf("%s%d!", w, 10+v.r.IntN(89))
	case 1:
		return randFrom(v.r, alnum+"!#%^*-_", 12+v.r.IntN(6))
	case 2:
		return strings.ToLower(w) + "-" + randFrom(v.r, "abcdefghijklmnopqrstuvwxyz", 5) + fmt.Sprint(v.r.IntN(10))
	default:
		return w + "$" + randAlnum(v.r, 6)
	}
}

// reservedPassword holds characters a URL would need escaped.
func (v *values) reservedPassword() string {
	w := pick(v.r, v.p.words)
	seps := []string{"@", "#", "/", "?", ":", "@#", "/?"}
	return w + pick(v.r, seps) + randAlnum(v.r, 4) + pick(v.r, seps) + fmt.Sprint(v.r.IntN(100))
}

func (v *values) host() string {
	svc := pick(v.r, []string{"db", "pg-primary", "mysql", "redis", "kafka", "rabbit", "mongo", "es", "vault", "auth"})
	n := v.r.IntN(9) + 1
	if v.r.IntN(2) == 0 {
		return fmt.Sprintf("%s-%d.%s", svc, n, pick(v.r, v.p.internal))
	}
	return fmt.Sprintf("%s-%d.%s", svc, n, pick(v.r, v.p.domains))
}

func (v *values) ip() string {
	switch v.r.IntN(4) {
	case 0:
		return fmt.Sprintf("10.%d.%d.%d", v.r.IntN(256), v.r.IntN(256), 1+v.r.IntN(254))
	case 1:
		return fmt.Sprintf("192.168.%d.%d", v.r.IntN(256), 1+v.r.IntN(254))
	case 2:
		return fmt.Sprintf("172.%d.%d.%d", 16+v.r.IntN(16), v.r.IntN(256), 1+v.r.IntN(254))
	default:
		return fmt.Sprintf("%d.%d.%d.%d", 34+v.r.IntN(150), v.r.IntN(256), v.r.IntN(256), 1+v.r.IntN(254))
	}
}

func (v *values) phone() string {
	a, b, c := 200+v.r.IntN(700), 200+v.r.IntN(700), 1000+v.r.IntN(9000)
	switch v.r.IntN(3) {
	case 0:
		return fmt.Sprintf("+1 %d %d %d", a, b, c)
	case 1:
		return fmt.Sprintf("(%d) %d-%d", a, b, c)
	default:
		return fmt.Sprintf("+44 20 %d %d", 7000+v.r.IntN(999), c)
	}
}

// card is a Luhn-valid number of a real issuer prefix, grouped as printed.
func (v *values) card() string {
	var digits []byte
	var groups []int
	switch v.r.IntN(3) {
	case 0: // Visa 16
		digits, groups = append([]byte("4"), randDigits(v.r, 14)...), []int{4, 4, 4, 4}
	case 1: // Mastercard 16
		digits, groups = append([]byte("5"+fmt.Sprint(1+v.r.IntN(5))), randDigits(v.r, 13)...), []int{4, 4, 4, 4}
	default: // Amex 15, 4-6-5
		digits, groups = append([]byte("3"+pick(v.r, []string{"4", "7"})), randDigits(v.r, 12)...), []int{4, 6, 5}
	}
	digits = append(digits, luhnDigit(digits))
	sep := pick(v.r, []string{"", " ", "-"})
	var b strings.Builder
	i := 0
	for gi, g := range groups {
		if gi > 0 {
			b.WriteString(sep)
		}
		b.Write(digits[i : i+g])
		i += g
	}
	return b.String()
}

func randDigits(r *rand.Rand, n int) []byte { return []byte(randFrom(r, "0123456789", n)) }

func luhnDigit(d []byte) byte {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return byte('0' + (10-sum%10)%10)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// one returns a value of the pool; repeated draws make repeated values.
func (v *values) user() string      { return pick(v.r, v.users) }
func (v *values) pw() string        { return pick(v.r, v.passwords) }
func (v *values) rpw() string       { return pick(v.r, v.reservedPasswords) }
func (v *values) hst() string       { return pick(v.r, v.hosts) }
func (v *values) addr() string      { return pick(v.r, v.ips) }
func (v *values) mail() string      { return pick(v.r, v.emails) }
func (v *values) name() string      { return pick(v.r, v.names) }
func (v *values) tok() string       { return pick(v.r, v.tokens) }
func (v *values) tel() string       { return pick(v.r, v.phones) }
func (v *values) cc() string        { return pick(v.r, v.cards) }
func (v *values) awsKey() string    { return pick(v.r, v.awsKeys) }
func (v *values) awsSecret() string { return pick(v.r, v.awsSecrets) }

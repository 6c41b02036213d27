// Package logtmpl mines log templates as lines stream in: a Drain-style
// fixed-depth prefix tree (grouped by token count, then by leading tokens)
// with a similarity threshold, after variable fields are masked as typed
// placeholders (<NUM>, <ID>, <IP>, <*>). One default configuration serves
// all log sources.
package logtmpl

import "strings"

// Typed variable placeholders.
const (
	VarNum = "<NUM>"
	VarID  = "<ID>"
	VarIP  = "<IP>"
	VarAny = "<*>"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// maskToken returns the token's shape: whole-token variables become a typed
// placeholder; otherwise digit runs become <NUM> inside the token, so
// "blk_-1608" and "blk_-99" share "blk_-<NUM>" while "ssh2" stays a word
// shape ("ssh<NUM>"). ok=false means the token is unchanged.
func maskToken(t string, buf []byte) (string, bool) {
	out, shape, ok := maskShape(t, buf)
	if shape != nil {
		return string(shape), true
	}
	return out, ok
}

// maskShape is maskToken that returns a digit-run shape as bytes in buf
// (so callers can intern it without allocating).
func maskShape(t string, buf []byte) (string, []byte, bool) {
	if len(t) == 0 {
		return t, nil, false
	}
	digits, hexOnly, dots, colons := 0, true, 0, 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isDigit(c):
			digits++
		case isAlpha(c):
			if !isHex(c) {
				hexOnly = false
			}
		default:
			hexOnly = false
			if c == '.' {
				dots++
			} else if c == ':' {
				colons++
			}
		}
	}
	if (colons > 0 && hostPort(t)) || (dots > 0 && fqdn(t)) {
		return VarAny, nil, true
	}
	if digits == 0 {
		if len(t) >= 3 && len(t) <= 9 && t[0] >= 'A' && t[0] <= 'Z' && dateWords[t] {
			return VarAny, nil, true
		}
		return t, nil, false
	}
	if isIPv4ish(t) {
		return VarIP, nil, true
	}
	if isNumber(t) {
		return VarNum, nil, true
	}
	if (hexOnly && len(t) >= 8) || (len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && allHex(t[2:])) || isUUID(t) {
		return VarID, nil, true
	}
	if isIPv6(t) {
		return VarIP, nil, true
	}
	// digit runs → <NUM>, keeping the rest of the shape; a '-' right
	// before digits and after a non-letter is the number's sign.
	buf = buf[:0]
	for i := 0; i < len(t); {
		if t[i] == '-' && i+1 < len(t) && isDigit(t[i+1]) && (i == 0 || !isAlpha(t[i-1]) && !isDigit(t[i-1])) {
			i++
			continue
		}
		if isDigit(t[i]) {
			j := i
			for j < len(t) && (isDigit(t[j]) || (t[j] == '.' && j+1 < len(t) && isDigit(t[j+1]))) {
				j++
			}
			buf = append(buf, VarNum...)
			i = j
			continue
		}
		buf = append(buf, t[i])
		i++
	}
	return "", buf, true
}

func allHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isNumber: [+-]digits[.digits][unit], e.g. 42, -7, 3.14, 250ms, 12KB, 1,024.
func isNumber(t string) bool {
	i := 0
	if t[0] == '-' || t[0] == '+' {
		i = 1
	}
	start := i
	for i < len(t) && (isDigit(t[i]) || t[i] == '.' || t[i] == ',') {
		i++
	}
	if i == start || !isDigit(t[start]) {
		return false
	}
	rest := t[i:]
	if len(rest) == 0 {
		return true
	}
	switch rest {
	case "ms", "s", "us", "ns", "m", "h", "B", "KB", "MB", "GB", "kB", "K", "M", "G", "%", "x":
		return true
	}
	return false
}

func isIPv4ish(t string) bool {
	dots, i := 0, 0
	if t[0] == '/' {
		i = 1
	}
	n := 0
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case isDigit(c):
			n++
			if n > 3 {
				return false
			}
		case c == '.':
			if n == 0 {
				return false
			}
			dots++
			n = 0
		case c == ':' && dots == 3 && n > 0:
			for j := i + 1; j < len(t); j++ {
				if !isDigit(t[j]) {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
	return dots == 3 && n > 0
}

func isUUID(t string) bool {
	if len(t) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if t[i] != '-' {
				return false
			}
		default:
			if !isHex(t[i]) {
				return false
			}
		}
	}
	return true
}

var tlds = map[string]bool{"com": true, "net": true, "org": true, "edu": true, "gov": true, "io": true, "cn": true, "hk": true,
	"uk": true, "de": true, "jp": true, "us": true, "local": true, "internal": true, "co": true, "info": true, "biz": true,
	"me": true, "ru": true, "fr": true, "br": true, "in": true, "au": true, "ca": true, "nl": true, "om": true, "tw": true, "kr": true}

// fqdn: dotted labels ending in a common TLD ("mtalk.google.com").
func fqdn(t string) bool {
	last := strings.LastIndexByte(t, '.')
	if last <= 0 || last == len(t)-1 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	tld := t[last+1:]
	if len(tld) > 8 {
		return false
	}
	var b [8]byte
	for i := 0; i < len(tld); i++ {
		c := tld[i]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		b[i] = c
	}
	return tlds[string(b[:len(tld)])]
}

// hostPort: name:port or IP:port ("mtalk.google.com:5228", "msra-sa-41:9000").
func hostPort(t string) bool {
	c := strings.LastIndexByte(t, ':')
	if c <= 0 || c == len(t)-1 {
		return false
	}
	for i := c + 1; i < len(t); i++ {
		if !isDigit(t[i]) {
			return false
		}
	}
	h := t[:c]
	if strings.IndexByte(h, ':') >= 0 {
		return false
	}
	return dotted(h) || isIPv4ish(h) || (strings.IndexByte(h, '-') > 0 && strings.IndexByte(h, '.') < 0 && hasDigit(h))
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// dotted: a dotted name ending in 2–6 letters ("bx.optimix.asia").
func dotted(t string) bool {
	last := strings.LastIndexByte(t, '.')
	if last <= 0 || len(t)-last-1 < 2 || len(t)-last-1 > 6 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	for i := last + 1; i < len(t); i++ {
		if !isAlpha(t[i]) {
			return false
		}
	}
	return true
}

// isIPv6: hex groups and at least two colons, "::" or 7 colons.
func isIPv6(t string) bool {
	colons, group, double := 0, 0, false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == ':':
			colons++
			if i > 0 && t[i-1] == ':' {
				double = true
			}
			group = 0
		case isHex(c):
			group++
			if group > 4 {
				return false
			}
		default:
			return false
		}
	}
	return colons >= 2 && (double || colons == 7)
}

// dateWords are weekday and month names: parts of timestamps, variables.
var dateWords = map[string]bool{}

func init() {
	for _, w := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December"} {
		dateWords[w] = true
	}
}

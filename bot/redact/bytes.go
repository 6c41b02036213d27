package redact

import (
	"math"
	"strings"
)

// byte classes
const (
	cDelim = 1 << iota // token boundary
	cDigit
	cLower
	cUpper
	cHex
	cHostChar // letters, digits, '-', '.'
)

var class [256]uint8

func init() {
	for _, c := range " \t\r\n\"'`()[]{}<>,;|" {
		class[c] |= cDelim
	}
	for c := '0'; c <= '9'; c++ {
		class[c] |= cDigit | cHex | cHostChar
	}
	for c := 'a'; c <= 'z'; c++ {
		class[c] |= cLower | cHostChar
	}
	for c := 'A'; c <= 'Z'; c++ {
		class[c] |= cUpper | cHostChar
	}
	for _, c := range "abcdefABCDEF" {
		class[c] |= cHex
	}
	for _, c := range "-." {
		class[c] |= cHostChar
	}
}

func isDigit(c byte) bool { return class[c]&cDigit != 0 }
func isHex(c byte) bool   { return class[c]&cHex != 0 }
func isAlpha(c byte) bool { return class[c]&(cLower|cUpper) != 0 }
func isAlnum(c byte) bool { return class[c]&(cLower|cUpper|cDigit) != 0 }
func isDelim(c byte) bool { return class[c]&cDelim != 0 }
func isIdent(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '$' }

var lowerTab [256]byte

func init() {
	for i := range lowerTab {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		lowerTab[i] = c
	}
}

func lower(c byte) byte { return lowerTab[c] }

// shape summarises a byte slice.
type shape struct {
	digits, lowers, uppers, others  int
	dots, colons, ats, slashes, eqs int
}

// count adds one byte to the shape.
func (s *shape) count(c byte) {
	switch k := class[c]; {
	case k&cDigit != 0:
		s.digits++
	case k&cLower != 0:
		s.lowers++
	case k&cUpper != 0:
		s.uppers++
	default:
		s.others++
		switch c {
		case '.':
			s.dots++
		case ':':
			s.colons++
		case '@':
			s.ats++
		case '/':
			s.slashes++
		case '=':
			s.eqs++
		}
	}
}

func shapeOf(b []byte) shape {
	var s shape
	for _, c := range b {
		s.count(c)
	}
	return s
}

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix p.
func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(b[i]) != p[i] {
			return false
		}
	}
	return true
}

func equalFold(b []byte, s string) bool { return len(b) == len(s) && hasPrefixFold(b, s) }

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && hasPrefixFold(b[len(b)-len(s):], s)
}

// containsFold reports whether b contains the lower-case ASCII string s.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if lower(b[i]) == s[0] && hasPrefixFold(b[i:], s) {
			return true
		}
	}
	return false
}

// entropy is the Shannon entropy in bits per byte.
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	h := 0.0
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// trimSet trims trailing bytes of set (bytes.TrimRight builds a set per
// call; these run per token).
func trimSet(v []byte, set string) []byte {
	for len(v) > 0 && strings.IndexByte(set, v[len(v)-1]) >= 0 {
		v = v[:len(v)-1]
	}
	return v
}

// trimPunct trims a value's trailing sentence punctuation.
func trimPunct(v []byte) []byte { return trimSet(v, ".,:;") }

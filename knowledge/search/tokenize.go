// Package search is the knowledge base's lexical index: operations-aware
// tokenization and BM25 with field weights, built in memory from the
// tickets in Redis and kept in sync as tickets are added.
package search

import (
	"strings"
	"unicode"
)

var stop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be been but by can could did do does doing for from had has have having he her
	here hers him his how i if in into is it its itself just me more most my no nor not of off on once only or other our out over own
	same she should so some such than that the their them then there these they this those through to too under until up very was we
	were what when where which while who whom why will with would you your yours also any all about after again against because
	before being below between both during each few further get got gets getting make made may might must need needs one two use
	used using via within without can't cannot don't doesn't isn't wasn't won't it's i'm i've we're let please thanks thank like
	see seems seem think tried try trying still now new way even see http https www com org net html java code noformat quote`) {
		stop[w] = true
	}
}

// stem is a light suffix stripper (plurals, -ing, -ed, -ly).
func stem(w string) string {
	n := len(w)
	switch {
	case n > 5 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 5 && strings.HasSuffix(w, "ing"):
		return w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed"):
		return w[:n-2]
	case n > 4 && strings.HasSuffix(w, "es") && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches")):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:n-1]
	case n > 5 && strings.HasSuffix(w, "ly"):
		return w[:n-2]
	}
	return w
}

// Tokens turns text into index terms: lower-cased words, identifiers split
// at camelCase, snake_case and dots (the whole identifier is kept too),
// stop words and pure numbers dropped, light stemming.
func Tokens(text string, out []string) []string {
	out = out[:0]
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '$' || r == '-')
	})
	for _, f := range fields {
		f = strings.Trim(f, "._$-")
		if f == "" {
			continue
		}
		if v, ok := versionLine(f); ok {
			out = append(out, v)
		}
		parts := splitIdent(f)
		if len(parts) > 1 {
			whole := shape(strings.ToLower(f))
			if len(whole) <= 60 && !allDigits(whole) {
				out = append(out, whole)
			}
		}
		for _, p := range parts {
			p = strings.ToLower(p)
			if len(p) < 2 || len(p) > 40 || stop[p] || allDigits(p) {
				continue
			}
			out = append(out, stem(p))
		}
	}
	return out
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if s[i] != '.' {
				return false
			}
		}
	}
	return true
}

// versionLine: a dotted version ("3.8.3", "4.1.89.Final") becomes its
// line, "v3.8": upgrades to one line are one problem, and a bare version
// is otherwise dropped as a number.
func versionLine(f string) (string, bool) {
	dot := strings.IndexByte(f, '.')
	if dot < 1 || dot > 3 || !allDigits(f[:dot]) {
		return "", false
	}
	end := dot + 1
	for end < len(f) && f[end] >= '0' && f[end] <= '9' {
		end++
	}
	if end == dot+1 || end-dot > 4 {
		return "", false
	}
	if end < len(f) && f[end] != '.' {
		return "", false
	}
	return "v" + f[:end], true
}

// splitIdent splits "FileSystem.getFileStatus" → File System get File Status.
func splitIdent(s string) []string {
	var parts []string
	start := 0
	rs := []rune(s)
	flush := func(i int) {
		if i > start {
			parts = append(parts, string(rs[start:i]))
		}
		start = i
	}
	for i := 1; i < len(rs); i++ {
		c, p := rs[i], rs[i-1]
		switch {
		case c == '_' || c == '.' || c == '$' || c == '-':
			flush(i)
			start = i + 1
		case unicode.IsUpper(c) && unicode.IsLower(p):
			flush(i)
		case unicode.IsUpper(p) && unicode.IsUpper(c) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
		}
	}
	if start < len(rs) {
		parts = append(parts, string(rs[start:]))
	}
	return parts
}

// shape reduces the variable parts of an identifier, host name or path
// piece: digit runs become '#' ("ip-10-0-0-12.ec2.internal" and
// "ip-10-0-3-7.ec2.internal" share "ip-#-#-#-#.ec2.internal").
func shape(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' }
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] >= '0' && s[i] <= '9' && (i == 0 || !isAlnum(s[i-1])) {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == len(s) || !isAlnum(s[j]) { // a whole numeric segment
				b.WriteByte('#')
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

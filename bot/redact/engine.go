package redact

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Config tunes the engine (the redaction section of OPSGATE_CONFIG).
type Config struct {
	// InternalDomains are suffixes whose host names are always masked, even
	// without a public TLD ("corp.example.com", "internal", "svc.cluster.local").
	InternalDomains []string `yaml:"internal_domains"`
	// Custom adds patterns of your own.
	Custom []CustomPattern `yaml:"custom"`
}

// CustomPattern is a named regular expression (RE2). Keywords, when given,
// are a prefilter: the pattern runs only on lines that contain one of them
// (case-insensitive).
type CustomPattern struct {
	Name     string   `yaml:"name"`
	Pattern  string   `yaml:"pattern"`
	Keywords []string `yaml:"keywords"`
}

type customRule struct {
	kind     Kind
	re       *regexp.Regexp
	keywords []string
}

// Engine holds the compiled detectors. It is safe for concurrent use;
// sessions carry the per-incident state.
type Engine struct {
	suffixes []string // lower-case, without a leading dot
	custom   []customRule
}

var kindName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,40}$`)

// New compiles a configuration.
func New(cfg Config) (*Engine, error) {
	e := &Engine{}
	for _, d := range cfg.InternalDomains {
		d = strings.Trim(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			return nil, fmt.Errorf("redaction: empty internal domain")
		}
		e.suffixes = append(e.suffixes, d)
	}
	for i, c := range cfg.Custom {
		if !kindName.MatchString(c.Name) {
			return nil, fmt.Errorf("redaction: custom[%d]: name %q must be letters, digits and _", i, c.Name)
		}
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("redaction: custom[%d] %s: %w", i, c.Name, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("redaction: custom[%d] %s: pattern matches the empty string", i, c.Name)
		}
		r := customRule{kind: Kind(strings.ToUpper(c.Name)), re: re}
		for _, k := range c.Keywords {
			r.keywords = append(r.keywords, strings.ToLower(k))
		}
		e.custom = append(e.custom, r)
	}
	return e, nil
}

// Default is an engine with no configuration.
func Default() *Engine { e, _ := New(Config{}); return e }

// internal reports whether host ends with a configured internal suffix.
func (e *Engine) internal(host []byte) bool {
	for _, s := range e.suffixes {
		if hasSuffixFold(host, s) && (len(host) == len(s) || host[len(host)-len(s)-1] == '.') {
			return true
		}
	}
	return false
}

// context carries expectations and private-key blocks from line to line.
// An expectation crosses a line only when the line ended with its key
// ("password:" closing a YAML line), and is kept only by a next line that
// is indented (the key's continuation): a key at the end of one log line
// says nothing about the first word of the next.
type context struct {
	want    expect
	wantOp  bool
	wantTTL int
	inKey   bool
}

var (
	beginMarker = []byte("-----BEGIN")
	endMarker   = []byte("-----END")
	keyMarker   = []byte("PRIVATE KEY")
)

// continuation: an indented line holding one token (a YAML block
// scalar's value, a wrapped value) — the only line a key at the end of the
// previous one can speak for.
func continuation(line []byte) bool {
	if len(line) == 0 || (line[0] != ' ' && line[0] != '\t') {
		return false
	}
	t := bytes.TrimSpace(line)
	return len(t) > 0 && bytes.IndexAny(t, " \t") < 0
}

// scanLine returns the line's findings, sorted and without overlaps.
func (e *Engine) scanLine(line []byte, ctx *context, out []Finding) []Finding {
	out = out[:0]
	if ctx.want != expNone && !continuation(line) {
		ctx.want = expNone
	}
	s := scanner{e: e, line: line, out: out, want: ctx.want, wantOp: ctx.wantOp, wantTTL: ctx.wantTTL}
	body := line
	offset := 0
	if ctx.inKey || bytes.Contains(line, beginMarker) {
		body, offset = e.privateKeys(&s, ctx)
	}
	if len(body) > 0 {
		if offset == 0 && len(body) == len(line) {
			s.scan()
		} else {
			sub := scanner{e: e, line: line[offset : offset+len(body)], out: s.out}
			sub.scan()
			for i := len(s.out); i < len(sub.out); i++ {
				sub.out[i].Start += offset
				sub.out[i].End += offset
			}
			s.out = sub.out
		}
	}
	phones(&s)
	for _, r := range e.custom {
		if len(r.keywords) > 0 {
			hit := false
			for _, k := range r.keywords {
				if containsFold(line, k) {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
		}
		for _, m := range r.re.FindAllIndex(line, -1) {
			s.add(r.kind, m[0], m[1])
		}
	}
	if !s.keyLast {
		s.want = expNone
	}
	ctx.want, ctx.wantOp, ctx.wantTTL = s.want, s.wantOp, s.wantTTL
	return resolve(s.out)
}

// privateKeys masks PEM private-key blocks (within the line, or from a
// BEGIN line to the END line) and returns the rest of the line to scan.
func (e *Engine) privateKeys(s *scanner, ctx *context) ([]byte, int) {
	line := s.line
	if ctx.inKey {
		if i := bytes.Index(line, endMarker); i >= 0 {
			end := i + len(endMarker)
			if j := bytes.Index(line[end:], []byte("-----")); j >= 0 {
				end += j + 5
			}
			s.add(KindPrivateKey, 0, end)
			ctx.inKey = false
			return line[end:], end
		}
		s.add(KindPrivateKey, 0, len(line))
		return nil, 0
	}
	i := bytes.Index(line, beginMarker)
	hdrEnd := bytes.Index(line[i+len(beginMarker):], []byte("-----"))
	if hdrEnd < 0 || !bytes.Contains(line[i:i+len(beginMarker)+hdrEnd], keyMarker) {
		return line, 0
	}
	if j := bytes.Index(line[i:], endMarker); j >= 0 {
		end := i + j + len(endMarker)
		if k := bytes.Index(line[end:], []byte("-----")); k >= 0 {
			end += k + 5
		}
		s.add(KindPrivateKey, i, end)
		// scan what precedes the block; the rest of the line is rare enough to skip
		return line[:i], 0
	}
	s.add(KindPrivateKey, i, len(line))
	ctx.inKey = true
	return line[:i], 0
}

// resolve sorts findings and drops overlaps, keeping the stronger kind (then
// the longer span).
func resolve(f []Finding) []Finding {
	if len(f) < 2 {
		return f
	}
	slices.SortFunc(f, func(x, y Finding) int {
		if x.Start != y.Start {
			return x.Start - y.Start
		}
		return y.End - x.End
	})
	out := f[:1]
	for _, x := range f[1:] {
		last := &out[len(out)-1]
		if x.Start >= last.End {
			out = append(out, x)
			continue
		}
		if rank(x.Kind) > rank(last.Kind) || (rank(x.Kind) == rank(last.Kind) && x.End-x.Start > last.End-last.Start) {
			*last = x
		}
	}
	// a replaced finding may now overlap its predecessor
	clean := out[:1]
	for _, x := range out[1:] {
		if x.Start >= clean[len(clean)-1].End {
			clean = append(clean, x)
		}
	}
	return clean
}

// phones finds phone numbers that span tokens ("+44 20 7946 0958",
// "(415) 555-0100"), jumping from one '+' or '(' to the next.
func phones(s *scanner) {
	line := s.line
	for _, c := range [2]byte{'+', '('} {
		for off := 0; off < len(line); {
			j := bytes.IndexByte(line[off:], c)
			if j < 0 {
				break
			}
			i := off + j
			off = i + 1
			if i+9 > len(line) || !isDigit(line[i+1]) || (i > 0 && isAlnum(line[i-1])) {
				continue
			}
			var n int
			if c == '+' {
				n = phoneLen(line[i:])
			} else {
				n = usPhoneLen(line[i:])
			}
			if n > 0 {
				s.add(KindPhone, i, i+n)
				off = i + n
			}
		}
	}
}

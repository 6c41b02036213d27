package redact

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Session gives consistent placeholders for one incident (or one CLI run):
// the same value is the same placeholder everywhere, a new value of a kind
// gets the next number. Safe for concurrent use.
type Session struct {
	e          *Engine
	mu         sync.Mutex
	byValue    map[string]string // kind \x00 value → placeholder
	values     map[string]string // placeholder → value
	counters   map[Kind]int
	secrets    [][]byte // secret values seen, masked wherever they reappear
	secretKind []Kind
	first      [1024]uint64 // bitset of the secrets' first two bytes
	byFirst    map[uint16][]int
	ctx        context
	keyPH      string // placeholder of the private-key block being read
	scratch    []Finding
	buf        []byte
	kbuf       []byte
	added      []string // placeholders created since the last Drain
}

// NewSession starts a session.
func (e *Engine) NewSession() *Session {
	return &Session{e: e, byValue: map[string]string{}, values: map[string]string{}, counters: map[Kind]int{}}
}

// appendKey appends the lookup key of a value: the value itself, or its
// lower-case form for host names and e-mail addresses (case-insensitive).
// The kind is not part of it: one value is one placeholder, whatever
// detected it (a password= value that reappears as a token's value, a user
// inside a credential pair).
func appendKey(dst []byte, k Kind, v []byte) []byte {
	if k == KindHost || k == KindEmail {
		dst = append(dst, 0)
		for _, c := range v {
			dst = append(dst, lower(c))
		}
		return dst
	}
	return append(dst, v...)
}

// placeholder returns (creating if needed) the placeholder for a value.
func (s *Session) placeholder(k Kind, v []byte) string {
	s.kbuf = appendKey(s.kbuf[:0], k, v)
	if p, ok := s.byValue[string(s.kbuf)]; ok {
		return p
	}
	if k == KindHost || k == KindEmail { // seen before under another kind, as written
		if p, ok := s.byValue[string(v)]; ok {
			return p
		}
	} else if p, ok := s.byValue["\x00"+string(bytes.ToLower(v))]; ok && bytes.IndexByte(v, '.') >= 0 {
		return p // a host name seen before, now as another kind
	}
	key := string(s.kbuf)
	s.counters[k]++
	p := "[" + string(k) + "_" + strconv.Itoa(s.counters[k]) + "]"
	s.byValue[key] = p
	s.values[p] = string(v)
	s.added = append(s.added, p)
	if IsSecret(k) {
		s.remember(k, v)
	}
	return p
}

// Line redacts one line (no newline inside) and returns the findings with
// byte offsets into the input line.
func (s *Session) Line(line string) (string, []Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.line(line)
}

// AppendLine redacts one line (no newline inside) and appends the result
// to dst: the byte path of Line for streams (no string per line).
func (s *Session) AppendLine(dst, in []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.e.scanLine(in, &s.ctx, s.scratch)
	f = s.reappearing(in, f)
	last := 0
	for _, x := range f {
		dst = append(dst, in[last:x.Start]...)
		if x.Kind == KindPrivateKey {
			dst = append(dst, s.keyPlaceholder(in[x.Start:x.End])...)
		} else {
			dst = append(dst, s.placeholder(x.Kind, in[x.Start:x.End])...)
		}
		last = x.End
	}
	s.scratch = f
	return append(dst, in[last:]...)
}

// line redacts one line; the input is copied into a reused buffer, and an
// unchanged line is returned as it came (no allocation).
func (s *Session) line(in string) (string, []Finding) {
	s.buf = append(s.buf[:0], in...)
	b := s.buf
	f := s.e.scanLine(b, &s.ctx, s.scratch)
	f = s.reappearing(b, f)
	if len(f) == 0 {
		s.scratch = f
		return in, nil
	}
	out := make([]Finding, len(f))
	var w strings.Builder
	w.Grow(len(b) + 16*len(f))
	last := 0
	for i, x := range f {
		w.Write(b[last:x.Start])
		var p string
		if x.Kind == KindPrivateKey {
			p = s.keyPlaceholder(b[x.Start:x.End])
		} else {
			p = s.placeholder(x.Kind, b[x.Start:x.End])
		}
		w.WriteString(p)
		x.Placeholder = p
		out[i] = x
		last = x.End
	}
	w.Write(b[last:])
	s.scratch = f
	return w.String(), out
}

// keyPlaceholder gives one placeholder per private-key block, whose value
// collects the block's lines.
func (s *Session) keyPlaceholder(v []byte) string {
	if p := s.keyPH; p != "" {
		s.values[p] += "\n" + string(v)
		if !s.ctx.inKey {
			s.keyPH = ""
		}
		return p
	}
	p := s.placeholder(KindPrivateKey, v)
	if s.ctx.inKey {
		s.keyPH = p
	}
	return p
}

// reappearing masks secret values found earlier wherever they show up again
// (inside other tokens too). One pass over the line: a bitset of the
// secrets' first two bytes says where one may start.
func (s *Session) reappearing(b []byte, f []Finding) []Finding {
	if len(s.secrets) == 0 || len(b) < 2 {
		return f
	}
	found := false
	for i := 0; i+1 < len(b); i++ {
		p := uint16(b[i])<<8 | uint16(b[i+1])
		if s.first[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, j := range s.byFirst[p] {
			v := s.secrets[j]
			if bytes.HasPrefix(b[i:], v) {
				f = append(f, Finding{Kind: s.secretKind[j], Start: i, End: i + len(v)})
				found = true
			}
		}
	}
	if !found {
		return f
	}
	return resolve(f)
}

// remember indexes a secret value for reappearing.
func (s *Session) remember(k Kind, v []byte) {
	if len(v) < 6 {
		return
	}
	if s.byFirst == nil {
		s.byFirst = map[uint16][]int{}
	}
	p := uint16(v[0])<<8 | uint16(v[1])
	s.first[p>>6] |= 1 << (p & 63)
	s.byFirst[p] = append(s.byFirst[p], len(s.secrets))
	s.secrets = append(s.secrets, append([]byte(nil), v...))
	s.secretKind = append(s.secretKind, k)
}

// Text redacts multi-line text; findings' offsets are into text.
func (s *Session) Text(text string) (string, []Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w strings.Builder
	var all []Finding
	off := 0
	for off <= len(text) {
		nl := strings.IndexByte(text[off:], '\n')
		end := len(text)
		if nl >= 0 {
			end = off + nl
		}
		red, f := s.line(text[off:end])
		w.WriteString(red)
		for _, x := range f {
			x.Start += off
			x.End += off
			all = append(all, x)
		}
		if nl < 0 {
			break
		}
		w.WriteByte('\n')
		off = end + 1
	}
	s.ctx = context{} // an expectation does not cross separate texts
	return w.String(), all
}

// String redacts text and returns only the result.
func (s *Session) String(text string) string { r, _ := s.Text(text); return r }

// Len is how many values the session masks (placeholders handed out).
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

// Mapping returns placeholder → original value.
func (s *Session) Mapping() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.values))
	for k, v := range s.values {
		m[k] = v
	}
	return m
}

// Drain returns the placeholders created since the last Drain (to persist).
func (s *Session) Drain() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.added))
	for _, p := range s.added {
		m[p] = s.values[p]
	}
	s.added = s.added[:0]
	return m
}

// Load restores a mapping (from the vault) so numbering continues.
func (s *Session) Load(m map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(m))
	for p := range m {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		v := m[p]
		inner := strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")
		i := strings.LastIndexByte(inner, '_')
		if i <= 0 || len(inner) == len(p) {
			return fmt.Errorf("redact: bad placeholder %q", p)
		}
		n, err := strconv.Atoi(inner[i+1:])
		if err != nil {
			return fmt.Errorf("redact: bad placeholder %q", p)
		}
		k := Kind(inner[:i])
		s.values[p] = v
		s.byValue[string(appendKey(nil, k, []byte(v)))] = p
		if n > s.counters[k] {
			s.counters[k] = n
		}
		if IsSecret(k) {
			s.remember(k, []byte(v))
		}
	}
	return nil
}

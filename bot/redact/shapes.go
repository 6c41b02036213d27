package redact

import "bytes"

// value finds values in a token by their shape.
func (s *scanner) value(a, b int, sh shape) {
	line := s.line
	t := line[a:b]
	if rules := prefixRules[t[0]]; rules != nil {
		if k, n := matchPrefix(t, rules); n > 0 {
			s.add(k, a, a+n)
			if a+n < b {
				s.value2(a+n, b, shapeOf(line[a+n:b]))
			}
			return
		}
	}
	s.value2(a, b, sh)
}

// matchPrefix finds a well-known token format at t's start.
func matchPrefix(t []byte, rules []prefixRule) (Kind, int) {
	for _, r := range rules {
		if r.kind == KindJWT && r.prefix == "eyJ" {
			if n := jwtLen(t); n > 0 {
				return KindJWT, n
			}
			continue
		}
		if len(t) < len(r.prefix)+r.min {
			continue
		}
		if r.fold {
			if !hasPrefixFold(t, r.prefix) {
				continue
			}
		} else if !bytes.HasPrefix(t, []byte(r.prefix)) {
			continue
		}
		n := len(r.prefix)
		for n < len(t) && tokenChar(t[n]) {
			n++
		}
		for n > len(r.prefix) && (t[n-1] == '.' || t[n-1] == '/') {
			n--
		}
		tail := t[len(r.prefix):n]
		if len(tail) < r.min || (entropy(tail) < 3.0 && !awsKeyID(r, tail)) {
			continue
		}
		if r.kind == KindAPIKey || r.kind == KindAWSKey {
			sh := shapeOf(tail)
			if ((sh.digits == 0 && (sh.uppers == 0 || sh.lowers == 0)) || sh.lowers+sh.uppers == 0) && !awsKeyID(r, tail) {
				continue // real keys mix digits or cases with letters
			}
		}
		return r.kind, n
	}
	return "", 0
}

// awsKeyID: an AWS access key id's 16 base32 characters (A–Z, 2–7), which
// may hold no digit at all.
func awsKeyID(r prefixRule, tail []byte) bool {
	if r.kind != KindAWSKey || len(tail) != 16 {
		return false
	}
	for _, c := range tail {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

func boundary(t []byte, p int) bool {
	if p == 0 {
		return true
	}
	c := t[p-1]
	return !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != ':'
}

// embedded finds well-known secrets that start inside a token, after '=',
// '?', '&', ':', '@' or '/'; it returns false when it found none.
func (s *scanner) embedded(a, b int) bool {
	t := s.line[a:b]
	found := false
	for p := 1; p < len(t)-8; p++ {
		switch t[p-1] {
		case '=', '?', '&', ':', '@', '/', '|':
		default:
			continue
		}
		if rules := prefixRules[t[p]]; rules != nil {
			if k, n := matchPrefix(t[p:], rules); n > 0 {
				s.add(k, a+p, a+p+n)
				p += n
				found = true
			}
		}
	}
	return found
}

// azureSecretLen matches Azure AD client secrets: 3 chars, a digit, "Q~",
// then 31–34 characters.
func azureSecretLen(t []byte) int {
	if len(t) < 37 || !isDigit(t[3]) || t[4] != 'Q' || t[5] != '~' {
		return 0
	}
	n := 6
	for n < len(t) && (isAlnum(t[n]) || t[n] == '_' || t[n] == '~' || t[n] == '.' || t[n] == '-') {
		n++
	}
	if n-6 < 31 || n-6 > 34 {
		return 0
	}
	return n
}

// highEntropy matches a long random-looking token: at least 32 characters
// of the base64 alphabet mixing upper case, lower case and digits, with
// high entropy. Hex ids and UUIDs (one case) never qualify.
func highEntropy(t []byte) bool {
	if len(t) < 32 || len(t) > 1024 {
		return false
	}
	var up, lo, dg, trans int
	prev := uint8(0)
	for _, c := range t {
		k := class[c] & (cUpper | cLower | cDigit)
		if k != prev {
			trans++
			prev = k
		}
		switch k := class[c]; {
		case k&cUpper != 0:
			up++
		case k&cLower != 0:
			lo++
		case k&cDigit != 0:
			dg++
		case c == '+' || c == '/' || c == '=' || c == '_' || c == '-':
		default:
			return false
		}
	}
	// Random strings switch between upper, lower and digits all the time;
	// identifiers (DFSClient_NONMAPREDUCE_1537864556_1) run in words.
	return up >= 3 && lo >= 3 && dg >= 2 && trans*3 >= len(t) && entropy(t) >= 4.3
}

// value2 scans inside a token for addresses, numbers and names.
func (s *scanner) value2(a, b int, sh shape) {
	line := s.line
	t := line[a:b]
	if len(t) >= 37 {
		for p := 0; p+37 <= len(t); p++ {
			if t[p+5] == '~' && t[p+4] == 'Q' && (p == 0 || !isAlnum(t[p-1])) {
				if n := azureSecretLen(t[p:]); n > 0 {
					s.add(KindSecret, a+p, a+p+n)
					return
				}
			}
		}
	}
	if highEntropy(t) {
		s.add(KindSecret, a, b)
		return
	}
	if sh.others > 0 && s.embedded(a, b) {
		return
	}
	covered := 0 // bytes of t already claimed, from the left
	if sh.ats > 0 {
		covered = s.atSign(a, b)
	}
	if sh.digits > 0 || sh.colons > 0 || (sh.others > 0 && bytes.IndexByte(t, '+') >= 0) {
		for p := covered; p < len(t); p++ {
			c := t[p]
			if !boundary(t, p) && !(p > 0 && t[p-1] == ':' && isHex(c) && (sh.dots >= 3 || sh.colons >= 4)) {
				continue
			}
			var n int
			var k Kind
			switch {
			case isHex(c) && sh.colons+sh.others >= 5:
				if n = macLen(t[p:]); n > 0 {
					k = KindMAC
					break
				}
				if sh.colons >= 2 {
					if n = ipv6Len(t[p:]); n > 0 {
						k = KindIP
						break
					}
				}
				fallthrough
			case isDigit(c):
				if !isDigit(c) {
					break
				}
				if sh.dots >= 3 && (p == 0 || (t[p-1] != '.' && !isAlnum(t[p-1]))) {
					if n = ipv4Len(t[p:]); n > 0 {
						k = KindIP
						break
					}
				}
				if sh.digits >= 13 {
					if n = cardLen(t[p:], s.digits[:0]); n > 0 {
						k = KindCard
						break
					}
				}
				if sh.digits >= 10 {
					if n = usPhoneLen(t[p:]); n > 0 {
						k = KindPhone
					}
				}
			case c == ':' && p+1 < len(t) && t[p+1] == ':' && sh.colons >= 2:
				if n = ipv6Len(t[p:]); n > 0 {
					k = KindIP
				}
			case c == '+':
				if n = phoneLen(t[p:]); n > 0 {
					k = KindPhone
				}
			}
			if n > 0 {
				s.add(k, a+p, a+p+n)
				p += n - 1
			}
		}
	}
	if sh.lowers+sh.uppers > 0 && (sh.dots+sh.colons+sh.slashes+sh.ats+sh.eqs > 0) {
		s.hosts(a, b)
		if sh.slashes >= 2 {
			s.homeDir(a, b)
		}
	}
}

// atSign handles user@domain: e-mail addresses, and name@host forms.
func (s *scanner) atSign(a, b int) int {
	t := s.line[a:b]
	at := bytes.IndexByte(t, '@')
	if n := s.slashCredentials(a, b, at); n > 0 {
		return n
	}
	l := at
	for l > 0 && (isAlnum(t[l-1]) || bytes.IndexByte([]byte("._%+-"), t[l-1]) >= 0) {
		l--
	}
	r := at + 1
	for r < len(t) && (class[t[r]]&cHostChar != 0) {
		r++
	}
	for r > at+1 && (t[r-1] == '.' || t[r-1] == '-') {
		r--
	}
	domain := t[at+1 : r]
	if l == at && len(domain) > 0 && hostLike(domain) && at > 0 && (equalFold(domain, "localhost") || notWord(domain)) { // "relay=#7#@localhost"
		s.add(KindHost, a+at+1, a+r)
		return r
	}
	if l < at && len(domain) > 0 {
		if isFQDN(domain) || s.e.internal(domain) {
			s.add(KindEmail, a+l, a+r)
			if at := a + l; at > 0 && s.line[at-1] == '<' {
				displayName(s, at-1) // "Jane Roe" <jane@…>
			}
			return r
		}
		if hostLike(domain) && bytes.IndexByte(t[l:at], '.') < 0 && (equalFold(domain, "localhost") || notWord(domain)) {
			s.add(KindHost, a+at+1, a+r)
			return r
		}
	}
	return 0
}

// slashCredentials handles user/password@host (Oracle EZConnect, JDBC
// thin: "jdbc:oracle:thin:app/S3cret@db.example.com:1521/ORCL"): a user
// name, one '/', a password, then a host with a dot or a port. It returns
// the bytes of t it covered (0: not this form).
func (s *scanner) slashCredentials(a, b, at int) int {
	t := s.line[a:b]
	start := bytes.LastIndexByte(t[:at], ':') + 1
	seg := t[start:at]
	sl := bytes.IndexByte(seg, '/')
	if sl <= 0 || sl == len(seg)-1 || !userName(seg[:sl]) || bytes.IndexByte(seg[sl+1:], '/') >= 0 {
		return 0
	}
	he := at + 1
	for he < len(t) && t[he] != '/' && t[he] != '?' {
		he++
	}
	hp := t[at+1 : he]
	if c := bytes.IndexByte(hp, ':'); c >= 0 {
		hp = hp[:c] // the port, or an Oracle SID after it
	}
	if !hostLike(hp) || bytes.IndexByte(hp, '.') < 0 && he-at-1 == len(hp) {
		return 0
	}
	s.add(KindUser, a+start, a+start+sl)
	s.add(KindPassword, a+start+sl+1, a+at)
	if n := ipv4Len(hp); n == len(hp) {
		s.add(KindIP, a+at+1, a+at+1+n)
	} else {
		s.add(KindHost, a+at+1, a+at+1+len(hp))
	}
	return he
}

// isFQDN: dotted labels ending in a known TLD.
func isFQDN(w []byte) bool {
	last := bytes.LastIndexByte(w, '.')
	if last <= 0 || last == len(w)-1 || len(w) > 253 {
		return false
	}
	tld := w[last+1:]
	if len(tld) > 11 {
		return false
	}
	var buf [12]byte
	for i, c := range tld {
		if !isAlpha(c) {
			return false
		}
		buf[i] = lower(c)
	}
	if !tlds[string(buf[:len(tld)])] {
		return false
	}
	labelLen := 0
	for i, c := range w {
		switch {
		case c == '.':
			if labelLen == 0 || w[i-1] == '-' {
				return false
			}
			labelLen = 0
		case isAlnum(c) || c == '-':
			if labelLen == 0 && c == '-' {
				return false
			}
			labelLen++
			if labelLen > 63 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// hosts finds host names in a token's '/'-, '@'- or ','-separated pieces:
// FQDNs, names under configured internal suffixes, and bare names that sit
// before a port or an IP address ("msra-sa-41:8030", "db-7/10.0.0.7").
func (s *scanner) hosts(a, b int) {
	line := s.line
	start := a
	for i := a; i <= b; i++ {
		if i < b && line[i] != '/' && line[i] != '@' && line[i] != ',' && line[i] != '=' {
			continue
		}
		if i > start {
			s.hostSegment(start, i, i < b && line[i] == '/' && i+1 < b && ipv4Len(line[i+1:b]) > 0)
		}
		start = i + 1
	}
}

func (s *scanner) hostSegment(a, b int, beforeIP bool) {
	seg := s.line[a:b]
	port := false
	if c := bytes.LastIndexByte(seg, ':'); c > 0 {
		digits := seg[c+1:]
		allDigits := true
		for _, d := range digits {
			if !isDigit(d) {
				allDigits = false
				break
			}
		}
		if !allDigits || bytes.IndexByte(seg[:c], ':') >= 0 {
			return
		}
		port = len(digits) > 0
		seg = seg[:c]
	}
	for len(seg) > 0 && (seg[len(seg)-1] == '.' || seg[len(seg)-1] == '-') {
		seg = seg[:len(seg)-1]
	}
	if n := ipv4Len(seg); n > 0 && n < len(seg) && seg[n] == '.' { // "5.36.59.76.dynamic-dsl-ip.example.net"
		a += n + 1
		seg = seg[n+1:]
	}
	if len(seg) < 3 || !hostLike(seg) {
		return
	}
	switch {
	case isFQDN(seg), s.e.internal(seg):
	case (port || beforeIP) && bytes.IndexByte(seg, '.') < 0 && bytes.IndexByte(seg, '-') > 0 && shapeOf(seg).digits > 0:
	default:
		return
	}
	s.add(KindHost, a, a+len(seg))
}

// homeDir masks the user in /home/<user>/, /Users/<user>/, C:\Users\<user>\.
func (s *scanner) homeDir(a, b int) {
	t := s.line[a:b]
	for _, p := range []string{"/home/", "/Users/", "/usr/home/"} {
		i := bytes.Index(t, []byte(p))
		if i < 0 {
			continue
		}
		u := i + len(p)
		e := u
		for e < len(t) && t[e] != '/' {
			e++
		}
		if e > u && !equalFold(t[u:e], "shared") && !isPlaceholder(t[u:e]) {
			s.add(KindUser, a+u, a+e)
		}
	}
}

// notWord: has a digit, '-' or '.', so it is a name rather than a word.
func notWord(w []byte) bool {
	for _, c := range w {
		if isDigit(c) || c == '-' || c == '.' {
			return true
		}
	}
	return false
}

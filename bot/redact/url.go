package redact

import "bytes"

func schemeChar(c byte) bool { return isAlnum(c) || c == '+' || c == '.' || c == '-' }

// url handles scheme://[userinfo@]host[:port][/path][?query]; sep is the
// index of "://".
func (s *scanner) url(a, b, sep int) {
	line := s.line
	ss := sep
	for ss > a && schemeChar(line[ss-1]) {
		ss--
	}
	if ss > a { // "url=https://…", "NSErrorFailingURLKey=https://…"
		if eq := bytes.IndexByte(line[a:ss], '='); eq > 0 && secretKey(line[a:a+eq]) != expNone {
			s.keyValue(a, a+eq, a+eq+1, b, 1)
			return
		}
	}
	auth := sep + 3
	uiEnd, host, end := s.authority(auth, b)
	if uiEnd > auth {
		s.userPass(auth, uiEnd)
	}
	hp := line[host:end]
	switch {
	case len(hp) > 0 && hp[0] == '[':
		if c := bytes.IndexByte(hp, ']'); c > 1 {
			s.add(KindIP, host+1, host+c)
		}
	default:
		h := hp
		if c := bytes.LastIndexByte(h, ':'); c >= 0 {
			h = h[:c]
		}
		if n := ipv4Len(h); n > 0 && n == len(h) {
			s.add(KindIP, host, host+n)
		} else if hostLike(h) && !equalFold(h, "localhost") {
			s.add(KindHost, host, host+len(h))
		}
	}
	if end >= b {
		return
	}
	rest := line[end:b]
	if q := bytes.IndexByte(rest, '?'); q >= 0 {
		s.query(end+q+1, b)
		b = end + q
		rest = line[end:b]
	}
	// Path: home directories, webhook secrets, token-like segments.
	s.homeDir(end, b)
	if bytes.Contains(line[host:end], []byte("hooks.slack.com")) {
		if i := bytes.Index(rest, []byte("/services/")); i >= 0 {
			s.add(KindSlack, end+i+len("/services/"), b)
			return
		}
	}
	start := end + 1
	for i := end + 1; i <= b; i++ {
		if i < b && line[i] != '/' {
			continue
		}
		if seg := line[start:i]; highEntropy(seg) {
			s.add(KindSecret, start, i)
		}
		start = i + 1
	}
}

// authority finds a URL's userinfo end (auth when there is none), its
// host's start and the authority's end. The authority normally ends at
// the first '/', '?' or '#'; a password holding those unescaped ("p@ss/w#rd?")
// instead runs to the last '@' that a host follows, if what precedes it
// reads as user:password (and not host:port/path).
func (s *scanner) authority(auth, b int) (uiEnd, host, end int) {
	line := s.line
	end = auth
	for end < b && line[end] != '/' && line[end] != '?' && line[end] != '#' {
		end++
	}
	std := -1
	if at := bytes.LastIndexByte(line[auth:end], '@'); at >= 0 && validHostPort(line[auth+at+1:end]) {
		std = auth + at
		if hp := line[std+1 : end]; bytes.IndexByte(hp, '.') >= 0 || bytes.IndexByte(hp, ':') >= 0 || hp[0] == '[' {
			return std, std + 1, end // a qualified host, or one with a port: the usual URL
		}
	}
	for p := b - 1; p > auth; p-- {
		if line[p] != '@' {
			continue
		}
		he := p + 1
		for he < b && line[he] != '/' && line[he] != '?' && line[he] != '#' {
			he++
		}
		hp := line[p+1 : he]
		if !validHostPort(hp) || (std >= 0 && bytes.IndexByte(hp, '.') < 0 && bytes.IndexByte(hp, ':') < 0) {
			continue // when a bare host came first, a later one must be qualified to win
		}
		ui := line[auth:p]
		c := bytes.IndexByte(ui, ':')
		if c < 0 || bytes.ContainsAny(ui[:c], "/?#@") {
			break
		}
		pw := ui[c+1:]
		d := 0
		for d < len(pw) && isDigit(pw[d]) {
			d++
		}
		if d > 0 && d < len(pw) && pw[d] == '/' {
			break // host:port/path@…: an '@' in the path
		}
		return p, p + 1, he
	}
	if at := bytes.LastIndexByte(line[auth:end], '@'); at >= 0 {
		return auth + at, auth + at + 1, end
	}
	return auth, auth, end
}

// validHostPort: host[:port] or [ipv6][:port].
func validHostPort(hp []byte) bool {
	if len(hp) == 0 {
		return false
	}
	if hp[0] == '[' {
		return bytes.IndexByte(hp, ']') > 1
	}
	if c := bytes.LastIndexByte(hp, ':'); c >= 0 {
		for _, d := range hp[c+1:] {
			if !isDigit(d) {
				return false
			}
		}
		hp = hp[:c]
	}
	return (ipv4Len(hp) == len(hp) && len(hp) > 0) || hostLike(hp)
}

// userPass masks a user:password pair as a user name and a password, so
// each keeps the placeholder it has elsewhere; a lone user is a user.
func (s *scanner) userPass(a, b int) {
	ui := s.line[a:b]
	c := bytes.IndexByte(ui, ':')
	if c < 0 {
		if k, n := matchPrefix(ui, prefixRules[ui[0]]); n == len(ui) {
			s.add(k, a, b) // a token as the user: https://ghp_…@github.com
			return
		}
		s.add(KindUser, a, b)
		return
	}
	s.add(KindUser, a, a+c)
	s.add(KindPassword, a+c+1, b)
}

// query masks secret parameters of a query string.
func (s *scanner) query(a, b int) {
	start := a
	for i := a; i <= b; i++ {
		if i < b && s.line[i] != '&' && s.line[i] != ';' {
			continue
		}
		if i > start {
			if eq := bytes.IndexByte(s.line[start:i], '='); eq > 0 {
				s.keyValue(start, start+eq, start+eq+1, i, 2)
			}
		}
		start = i + 1
	}
}

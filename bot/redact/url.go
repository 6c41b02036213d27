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
	end := auth
	for end < b && line[end] != '/' && line[end] != '?' && line[end] != '#' {
		end++
	}
	host := auth
	if at := bytes.LastIndexByte(line[auth:end], '@'); at >= 0 {
		ui := line[auth : auth+at]
		if bytes.IndexByte(ui, ':') >= 0 {
			s.add(KindCredentials, auth, auth+at)
		} else if len(ui) > 0 {
			s.add(KindUser, auth, auth+at)
		}
		host = auth + at + 1
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

package redact

import "bytes"

// secretKey classifies a key name: expPassword for password-like keys,
// expSecret for other credential keys, expUser for user keys, expNone.
func secretKey(k []byte) expect {
	k = bytes.TrimLeft(k, "$@-.#")
	if len(k) == 0 || len(k) > 80 {
		return expNone
	}
	switch {
	case containsFold(k, "passw"), containsFold(k, "passwd"), containsFold(k, "pwd"), containsFold(k, "passphrase"),
		equalFold(k, "pass"), hasSuffixFold(k, "_pass"), hasSuffixFold(k, "-pass"):
		return expPassword
	case containsFold(k, "secret"), containsFold(k, "token"), containsFold(k, "apikey"), containsFold(k, "api_key"),
		containsFold(k, "api-key"), containsFold(k, "accesskey"), containsFold(k, "access_key"), containsFold(k, "access-key"),
		containsFold(k, "privatekey"), containsFold(k, "private_key"), containsFold(k, "credential"), containsFold(k, "auth"),
		containsFold(k, "signature"), containsFold(k, "session_id"), containsFold(k, "sessionid"), containsFold(k, "cookie"),
		hasSuffixFold(k, "key"), hasSuffixFold(k, "_sig"), equalFold(k, "sig"), hasSuffixFold(k, "license"):
		return expSecret
	case equalFold(k, "user"), equalFold(k, "username"), equalFold(k, "user_name"), equalFold(k, "login"),
		equalFold(k, "logname"), equalFold(k, "ruser"), equalFold(k, "euser"), equalFold(k, "uname"),
		equalFold(k, "to"), equalFold(k, "from"), equalFold(k, "ctladdr"), equalFold(k, "userid"), equalFold(k, "user_id"),
		equalFold(k, "owner"), equalFold(k, "account"):
		return expUser
	}
	return expNone
}

// bareSecretKey is secretKey for a name written without an operator
// ("LOOKER_TOKEN" "x", "<apiToken>"): only unambiguous credential words.
func bareSecretKey(k []byte) expect {
	k = bytes.TrimLeft(k, "$@-.#")
	switch {
	case len(k) < 5 || len(k) > 80:
		return expNone
	case containsFold(k, "passw"), containsFold(k, "passwd"):
		return expPassword
	case containsFold(k, "token"), containsFold(k, "secret"), containsFold(k, "apikey"), containsFold(k, "api_key"),
		containsFold(k, "api-key"), containsFold(k, "accesskey"), containsFold(k, "access_key"), containsFold(k, "private_key"),
		containsFold(k, "privatekey"), containsFold(k, "credential"):
		return expSecret
	case hasSuffixFold(k, "key") && len(k) > 3 && (k[len(k)-4] == '_' || k[len(k)-4] == '-' || (k[len(k)-3] == 'K' && isLowerAt(k, len(k)-4))):
		return expSecret // api_key, clientKey, X-KEY
	}
	return expNone
}

func isLowerAt(k []byte, i int) bool { return i >= 0 && class[k[i]]&(cLower|cDigit) != 0 }

func hostKey(k []byte) bool {
	return equalFold(k, "host") || equalFold(k, "hostname") || equalFold(k, "rhost") || equalFold(k, "server") ||
		equalFold(k, "relay") || equalFold(k, "node") || equalFold(k, "addr") || equalFold(k, "remote_addr") ||
		equalFold(k, "peer")
}

func identKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if !isIdent(c) {
			return false
		}
	}
	return true
}

// analyze looks at one token (or a piece of one) for values by shape.
func (s *scanner) analyze(a, b, depth int) {
	line := s.line
	for b > a && (line[b-1] == '.' || line[b-1] == ':' || line[b-1] == '!' || line[b-1] == '?' || line[b-1] == '\\') {
		b--
	}
	if b-a < 2 || depth > 3 {
		return
	}
	t := line[a:b]
	// Private keys inside one line ("-----BEGIN … PRIVATE KEY-----…").
	if t[0] == '-' && bytes.HasPrefix(t, []byte("-----BEGIN")) {
		return // handled per line by the engine
	}
	// URLs and connection strings.
	if i := bytes.Index(t, []byte("://")); i > 0 {
		s.url(a, b, a+i)
		return
	}
	// key=value
	if eq := bytes.IndexByte(t, '='); eq > 0 && identKey(t[:eq]) && !(eq+1 < len(t) && t[eq+1] == '=') &&
		(eq < len(t)-1 || secretKey(t[:eq]) != expNone || hostKey(t[:eq])) {
		s.keyValue(a, a+eq, a+eq+1, b, depth)
		return
	}
	// key:value for credential keys ("password:hunter2"); "key:" alone sets context.
	if c := bytes.IndexByte(t, ':'); c > 0 && identKey(t[:c]) {
		if e := bareSecretKey(t[:c]); e == expSecret || e == expPassword {
			if c == len(t)-1 || (c+1 < len(t) && t[c+1] == '=') {
				s.expectNext(e, 2)
				s.wantOp = true
				return
			}
			s.keyValue(a, a+c, a+c+1, b, depth)
			return
		}
		if c == len(t)-1 && secretKey(t[:c]) == expUser && equalFold(t[:c], "user") {
			s.expectNext(expUser, 1)
			return
		}
	}
	// A bare key name ("LOOKER_TOKEN", "password") sets up the next token.
	if e := bareSecretKey(t); e != expNone && identKey(t) {
		s.expectNext(e, 1)
		return
	}
	s.value(a, b)
}

func (s *scanner) keyValue(ka, kb, va, vb, depth int) {
	key := s.line[ka:kb]
	// value ends at a literal "\n" / "\t" escape or '&' (query strings)
	for i := va; i < vb; i++ {
		if c := s.line[i]; c == '\\' || c == '&' {
			if i+1 < vb {
				s.analyze(i+1, vb, depth+1)
			}
			vb = i
			break
		}
	}
	v := s.line[va:vb]
	switch e := secretKey(key); e {
	case expPassword:
		if len(v) == 0 {
			s.expectNext(expPassword, 2)
			s.wantOp = true
			return
		}
		if looksSecret(v, false) {
			s.add(KindPassword, va, vb)
			return
		}
	case expSecret:
		if len(v) == 0 {
			s.expectNext(expSecret, 2)
			s.wantOp = true
			return
		}
		if looksSecret(v, true) || (looksSecret(v, false) && len(v) >= 6 && shapeOf(v).digits > 0) {
			s.add(KindSecret, va, vb)
			return
		}
	case expUser:
		if len(v) == 0 || isPlaceholder(v) || bytes.IndexByte(v, '@') >= 0 || bytes.IndexByte(v, '<') >= 0 {
			break
		}
		if n := ipv4Len(v); n > 0 {
			break
		}
		w := bytes.TrimRight(v, ".,:;")
		if len(w) > 0 && !notUser[string(bytes.ToLower(w))] {
			s.add(KindUser, va, va+len(w))
			return
		}
	}
	if hostKey(key) && len(v) > 0 && ipv4Len(v) == 0 && ipv6Len(v) == 0 && bytes.IndexByte(v, '@') < 0 && bytes.IndexByte(v, '/') < 0 {
		w := bytes.TrimRight(v, ".:")
		if hostLike(w) {
			s.add(KindHost, va, va+len(w))
			return
		}
	}
	if vb > va {
		s.analyze(va, vb, depth+1)
	}
}

// hostLike: letters, digits, '-', '.', starting with an alphanumeric, with at
// least one letter.
func hostLike(w []byte) bool {
	if len(w) == 0 || len(w) > 253 || !isAlnum(w[0]) {
		return false
	}
	letter := false
	for _, c := range w {
		if class[c]&cHostChar == 0 && c != '#' && c != '@' {
			return false
		}
		if isAlpha(c) {
			letter = true
		}
	}
	return letter
}

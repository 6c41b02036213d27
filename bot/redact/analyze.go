package redact

import "bytes"

// lowerKey lower-cases a key name into buf (nil when too long).
func lowerKey(k []byte, buf *[96]byte) []byte {
	for len(k) > 0 && (k[0] == '$' || k[0] == '@' || k[0] == '-' || k[0] == '.' || k[0] == '#') {
		k = k[1:]
	}
	if len(k) == 0 || len(k) > len(buf) {
		return nil
	}
	for i, c := range k {
		buf[i] = lower(c)
	}
	return buf[:len(k)]
}

// Features of a lower-cased key name, found in one pass.
const (
	fPass = 1 << iota
	fPwd
	fSecret
	fToken
	fKey
	fAuth
	fCredential
	fSignature
	fSession
	fCookie
	fAPIKey     // apikey, api_key, api-key
	fAccessKey  // accesskey, access_key, access-key
	fPrivateKey // privatekey, private_key
	fLicense
)

func at(k []byte, i int, w string) bool {
	if len(k)-i < len(w) {
		return false
	}
	for j := 1; j < len(w); j++ {
		if lower(k[i+j]) != w[j] {
			return false
		}
	}
	return true
}

// keyStart marks the two letters a key feature can start with ("pa" of
// pass, "to" of token…): most positions of a word fail it at once.
var keyStart [256][256]bool

func init() {
	for _, w := range []string{"pa", "pw", "pr", "se", "si", "to", "ke", "au", "ap", "ac", "cr", "co", "li"} {
		for _, a := range []byte{w[0], w[0] - 32} {
			for _, b := range []byte{w[1], w[1] - 32} {
				keyStart[a][b] = true
			}
		}
	}
}

func keyFeatures(k []byte) uint32 {
	var f uint32
	for i := 0; i+3 <= len(k); i++ {
		if !keyStart[k[i]][k[i+1]] {
			continue
		}
		switch lower(k[i]) {
		case 'p':
			if at(k, i, "pass") {
				f |= fPass
			} else if at(k, i, "pwd") {
				f |= fPwd
			} else if at(k, i, "privatekey") || at(k, i, "private_key") {
				f |= fPrivateKey
			}
		case 's':
			if at(k, i, "secret") {
				f |= fSecret
			} else if at(k, i, "signature") {
				f |= fSignature
			} else if at(k, i, "session_id") || at(k, i, "sessionid") {
				f |= fSession
			}
		case 't':
			if at(k, i, "token") {
				f |= fToken
			}
		case 'k':
			if at(k, i, "key") {
				f |= fKey
			}
		case 'a':
			if at(k, i, "auth") {
				f |= fAuth
			} else if at(k, i, "apikey") || at(k, i, "api_key") || at(k, i, "api-key") {
				f |= fAPIKey
			} else if at(k, i, "accesskey") || at(k, i, "access_key") || at(k, i, "access-key") {
				f |= fAccessKey
			}
		case 'c':
			if at(k, i, "credential") {
				f |= fCredential
			} else if at(k, i, "cookie") {
				f |= fCookie
			}
		case 'l':
			if at(k, i, "license") {
				f |= fLicense
			}
		}
	}
	return f
}

// secretKey classifies a key name: expPassword for password-like keys,
// expSecret for other credential keys, expUser for user keys, expNone.
func secretKey(key []byte) expect {
	var buf [96]byte
	k := lowerKey(key, &buf)
	if len(k) == 0 || len(k) > 80 {
		return expNone
	}
	f := keyFeatures(k)
	if f != 0 && notAValueKey(k) {
		return expNone // DB_PASSWORD_FILE, PASSWORD_MIN_LENGTH, password_policy
	}
	switch {
	case f&(fPass|fPwd) != 0, string(k) == "pw", bytes.HasSuffix(k, []byte("_pw")), bytes.HasSuffix(k, []byte("-pw")):
		return expPassword
	case f&(fSecret|fToken|fAuth|fCredential|fSignature|fSession|fCookie|fAPIKey|fAccessKey|fPrivateKey|fLicense) != 0,
		f&fKey != 0 && bytes.HasSuffix(k, []byte("key")),
		bytes.HasSuffix(k, []byte("_sig")), string(k) == "sig":
		return expSecret
	}
	switch string(k) {
	case "user", "username", "user_name", "login", "logname", "ruser", "euser", "uname", "to", "from", "ctladdr",
		"userid", "user_id", "owner", "account", "uid", "login_name", "loginname", "db_user", "dbuser":
		return expUser
	}
	return expNone
}

// domainAccount: DOMAIN\user — a NetBIOS domain (capitals, digits, '-')
// and a user name.
func domainAccount(domain, user []byte) bool {
	for _, c := range domain {
		if (c < 'A' || c > 'Z') && !isDigit(c) && c != '-' {
			return false
		}
	}
	return userName(user)
}

// encodedEmail masks an e-mail address written URL-encoded
// ("jane.roe%40example.com") inside a token; i is the "%40".
func (s *scanner) encodedEmail(a, b, i int) bool {
	line := s.line
	l := a + i
	for l > a && (isAlnum(line[l-1]) || line[l-1] == '.' || line[l-1] == '_' || line[l-1] == '-' || line[l-1] == '+') {
		l--
	}
	r := a + i + 3
	for r < b && class[line[r]]&cHostChar != 0 {
		r++
	}
	for r > a+i+3 && line[r-1] == '.' {
		r--
	}
	if l == a+i || !(isFQDN(line[a+i+3:r]) || s.e.internal(line[a+i+3:r])) {
		return false
	}
	if l > a { // what precedes it (email=) keeps its own analysis
		s.analyze(a, l, 1)
	}
	s.add(KindEmail, l, r)
	if r < b && (line[r] == '&' || line[r] == ';') {
		s.query(r+1, b) // the form's other fields
	} else if r < b {
		s.analyze(r, b, 1)
	}
	return true
}

// notAValueKey: the key's last word says its value is not the secret
// itself but where it is, how long it must be, or a rule about it.
func notAValueKey(k []byte) bool {
	i := len(k) - 1
	for i >= 0 && k[i] != '_' && k[i] != '-' && k[i] != '.' {
		i--
	}
	if i < 0 {
		return false
	}
	switch string(k[i+1:]) {
	case "file", "path", "dir", "policy", "length", "len", "min", "max", "ttl", "expiry", "expires", "age", "count",
		"attempts", "retries", "enabled", "required", "rotation", "interval", "timeout", "strength", "complexity", "hint", "reset", "changed", "set":
		return true
	}
	return false
}

// bareSecretKey is secretKey for a name written without an operator
// ("LOOKER_TOKEN" "x", "<apiToken>"): only unambiguous credential words.
func bareSecretKey(key []byte) expect {
	if len(key) < 5 || len(key) > 80 {
		return expNone
	}
	f := keyFeatures(key)
	if f == 0 {
		return expNone
	}
	var buf [96]byte
	k := lowerKey(key, &buf)
	if len(k) < 5 {
		return expNone
	}
	switch {
	case f&fPass != 0 && (bytes.Contains(k, []byte("passw"))):
		return expPassword
	case f&(fToken|fSecret|fAPIKey|fAccessKey|fPrivateKey|fCredential) != 0:
		return expSecret
	}
	if n := len(key); f&fKey != 0 && bytes.HasSuffix(k, []byte("key")) && n > 4 &&
		(key[n-4] == '_' || key[n-4] == '-' || (key[n-3] == 'K' && isLowerAt(key, n-4))) {
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
func (s *scanner) analyze(a, b, depth int) { s.analyzeShaped(a, b, depth, nil) }

// analyzeShaped is analyze with the token's shape already counted (nil:
// count it here).
func (s *scanner) analyzeShaped(a, b, depth int, given *shape) {
	line := s.line
	if b-a > 1 && line[b-1] == '=' && (equalFold(line[a:b-1], "key") || equalFold(line[a:b-1], "name")) {
		s.expectNext(expKeyName, 1) // key="DbPassword" value="…": the next token names the key
		return
	}
	if b-a > 1 && (line[b-1] == ':' || line[b-1] == '=') && identKey(line[a:b-1]) {
		// "pwd:", "api_key=" with the value in the next token
		if e := secretKey(line[a : b-1]); e == expPassword || e == expSecret {
			s.expectNext(e, 2)
			s.wantOp = true
			return
		} else if e == expUser && b < len(line) && line[b] == '"' {
			s.expectNext(e, 1) // username="jdoe"
			s.wantOp = true
			return
		}
	}
	if i := bytes.IndexByte(line[a:b], '\\'); i > 0 && i < 16 && b-a-i-1 > 0 && domainAccount(line[a:a+i], line[a+i+1:b]) {
		s.add(KindUser, a+i+1, b) // ACME\jdoe: a Windows domain account
		return
	}
	full := b // key=value keeps the value's last character ("password=Marmot95!")
	trimmed := false
	for b > a && (line[b-1] == '.' || line[b-1] == ':' || line[b-1] == '!' || line[b-1] == '?' || line[b-1] == '\\') {
		b--
		trimmed = true
	}
	if b-a < 2 || depth > 3 {
		return
	}
	t := line[a:b]
	var sh shape
	if given != nil && !trimmed {
		sh = *given
	} else {
		sh = shapeOf(t)
	}
	if sh.others == 0 && sh.digits == 0 { // a plain word: only a key name can matter…
		if len(t) >= 20 && prefixRules[t[0]] != nil { // …or a token of letters only (AKIA + base32)
			if k, n := matchPrefix(t, prefixRules[t[0]]); n == len(t) {
				s.add(k, a, b)
				return
			}
		}
		if e := bareSecretKey(t); e != expNone {
			s.expectNext(e, 1)
		}
		return
	}
	if sh.others == 0 && sh.lowers+sh.uppers == 0 && len(t) < 13 { // a short number
		return
	}
	// Private keys inside one line ("-----BEGIN … PRIVATE KEY-----…").
	if t[0] == '-' && bytes.HasPrefix(t, []byte("-----BEGIN")) {
		return // handled per line by the engine
	}
	// URLs and connection strings.
	if i := bytes.Index(t, []byte("://")); i > 0 {
		s.url(a, b, a+i)
		return
	}
	// A path with a query string ("/login?user=bob&password=s3cret"):
	// each pair is a key=value.
	if q := bytes.IndexByte(t, '?'); q > 0 && bytes.IndexByte(t[q:], '=') > 0 && t[0] == '/' {
		start := a + q + 1
		for i := start; i <= b; i++ {
			if i == b || line[i] == '&' {
				if eq := bytes.IndexByte(line[start:i], '='); eq > 0 && identKey(line[start:start+eq]) {
					s.keyValue(start, start+eq, start+eq+1, i, depth)
				}
				start = i + 1
			}
		}
		return
	}
	if eq := bytes.IndexByte(t, '='); eq == 2 && equalFold(t[:2], "cn") && eq+1 < len(t) {
		// an LDAP DN's common name runs to the next ',' (names have spaces)
		end := a + eq + 1
		for end < len(line) && line[end] != ',' && line[end] != ';' && line[end] != '"' && line[end] != ')' {
			end++
		}
		s.add(KindName, a+eq+1, end)
		return
	}
	if i := bytes.IndexByte(t, '%'); i > 0 && bytes.HasPrefix(t[i:], []byte("%40")) {
		if n := s.encodedEmail(a, b, i); n {
			return
		}
	}
	// key=value
	if eq := bytes.IndexByte(t, '='); eq > 0 && identKey(t[:eq]) && !(eq+1 < len(t) && t[eq+1] == '=') &&
		(eq < len(t)-1 || secretKey(t[:eq]) != expNone || hostKey(t[:eq])) {
		s.keyValueFull(a, a+eq, a+eq+1, b, full, depth)
		return
	}
	// key:value for credential keys ("password:hunter2"); "key:" alone sets context.
	if c := bytes.IndexByte(t, ':'); c > 0 && identKey(t[:c]) {
		if e := secretKey(t[:c]); e == expPassword || (e == expSecret && bareSecretKey(t[:c]) != expNone) {
			if c == len(t)-1 || (c+1 < len(t) && t[c+1] == '=') {
				s.expectNext(e, 2)
				s.wantOp = true
				return
			}
			s.keyValueFull(a, a+c, a+c+1, full, full, depth)
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
	s.value(a, b, sh)
}

func (s *scanner) keyValue(ka, kb, va, vb, depth int) { s.keyValueFull(ka, kb, va, vb, vb, depth) }

// keyValueFull is keyValue where a password's or secret's value runs to
// full, past the trailing punctuation other values end before.
func (s *scanner) keyValueFull(ka, kb, va, vb, full, depth int) {
	key := s.line[ka:kb]
	e := secretKey(key)
	if e == expPassword || e == expSecret {
		vb = full
	}
	// value ends at a literal "\n" / "\t" escape, or at '&' when a
	// query-string pair follows ("&user=x"); "Tr0ub4dor&3xyz" is one value
	for i := va; i < vb; i++ {
		if c := s.line[i]; c == '\\' || (c == '&' && nextIsPair(s.line[i+1:vb])) {
			if i+1 < vb {
				s.analyze(i+1, vb, depth+1)
			}
			vb = i
			break
		}
	}
	v := s.line[va:vb]
	if credsWord(key) && credPair(v) { // credentials=bob:s3cret
		s.userPass(va, vb)
		return
	}
	if isAuthScheme(v) && (equalFold(key, "authorization") || equalFold(key, "auth")) {
		s.expectNext(expAuthValue, 1) // authorization=bearer <token>
		return
	}

	if e == expNone && equalFold(key, "id") && s.nprev > 0 && equalFold(s.back(1), "user") {
		e = expUser // ADO.NET "User Id=alice"
	}
	switch e {
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
		if sh := shapeOf(v); sh.lowers+sh.uppers == 0 {
			break // uid=0: a number, not a name
		}
		w := trimPunct(v)
		if len(w) > 0 && !notUser[string(bytes.ToLower(w))] {
			s.add(KindUser, va, va+len(w))
			return
		}
	}
	if hostKey(key) && len(v) > 0 && ipv4Len(v) == 0 && ipv6Len(v) == 0 && bytes.IndexByte(v, '@') < 0 && bytes.IndexByte(v, '/') < 0 {
		w := trimSet(v, ".:")
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

// nextIsPair reports whether t starts with "key=".
func nextIsPair(t []byte) bool {
	eq := bytes.IndexByte(t, '=')
	return eq > 0 && identKey(t[:eq])
}

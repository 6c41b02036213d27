package redact

import "bytes"

// span is a token: bytes [a, b) of the line.
type span struct {
	a, b  int
	paren bool // written as "(token)"
}

// expect says what the next token is, from the tokens before it.
type expect uint8

const (
	expNone      expect = iota
	expSecret           // value of a secret-named key ("password", "api_key", "LOOKER_TOKEN")
	expPassword         // value of a password-named key: any value counts
	expUser             // a user name ("user", "-l", "for … from")
	expAuth             // credentials after "Authorization:" (maybe a scheme word first)
	expAuthValue        // credentials after "Bearer" / "Basic" / "Token"
	expCurlUser         // "-u" / "--user" user:password
	expDomain           // a host after "domain"
	expCredPair         // user:password after "creds", "credentials", "login", "auth"
	expKeyName          // the name in key="…" (a secret's name makes value="…" its value)
)

// scanner holds one line's scan.
type scanner struct {
	e       *Engine
	line    []byte
	out     []Finding
	prev    [3]span // previous tokens, most recent last
	nprev   int
	want    expect
	wantOp  bool // an assignment operator was seen since the key
	wantTTL int
	userAt  int  // index (in prev) of a "user" word whose next token may be a user name
	keyLast bool // the expectation was set by the line's last token so far
	dashU   bool // a "-u" flag was seen: "-p<password>" follows it (mysql, docker)
	digits  [24]byte
}

func (s *scanner) add(k Kind, a, b int) {
	if a < b {
		s.out = append(s.out, Finding{Kind: k, Start: a, End: b})
	}
}

func (s *scanner) push(t span) {
	if s.nprev < len(s.prev) {
		s.prev[s.nprev] = t
		s.nprev++
		return
	}
	copy(s.prev[:], s.prev[1:])
	s.prev[len(s.prev)-1] = t
}

func (s *scanner) back(n int) []byte { // n=1: previous token
	if n > s.nprev {
		return nil
	}
	t := s.prev[s.nprev-n]
	return s.line[t.a:t.b]
}

// scan tokenizes line and appends findings.
func (s *scanner) scan() {
	line := s.line
	i := 0
	for i < len(line) {
		if isDelim(line[i]) {
			i++
			continue
		}
		j := i
		var sh shape
		for j < len(line) && !isDelim(line[j]) {
			sh.count(line[j])
			j++
		}
		t := span{a: i, b: j, paren: i > 0 && line[i-1] == '(' && j < len(line) && line[j] == ')'}
		if n := s.groupedCard(t, &sh); n > 0 {
			i = t.a + n
			continue
		}
		s.personName(t, &sh)
		s.token(t, &sh)
		s.push(t)
		i = j
	}
}

var assignOps = [][]byte{[]byte(":"), []byte("="), []byte(":="), []byte("=>"), []byte("::="), []byte(":::="), []byte(".="), []byte("->"), []byte("+="), []byte("?=")}

func isAssignOp(t []byte) bool {
	if len(t) == 0 || len(t) > 4 {
		return false
	}
	switch t[0] {
	case ':', '=', '.', '-', '+', '?':
	default:
		return false
	}
	for _, op := range assignOps {
		if bytes.Equal(t, op) {
			return true
		}
	}
	return false
}

// token handles one token with its context.
func (s *scanner) token(t span, sh *shape) {
	tok := s.line[t.a:t.b]
	if s.want != expNone && s.keyLast && (string(tok) == ">" || string(tok) == ">-" || string(tok) == "|-") {
		return // a YAML block scalar: the value is on the next lines
	}
	s.keyLast = false
	if s.want == expAuth && (isAuthScheme(tok) || schemeWord(tok)) {
		s.expectNext(expAuthValue, 1)
		return
	}
	if s.want != expNone {
		if isAssignOp(tok) {
			s.wantOp, s.keyLast = true, true
			return
		}
		if typeWord(tok) { // "var apiToken string = …"
			return
		}
		if equalFold(tok, "value=") || equalFold(tok, "value:") { // <add key="DbPassword" value="…">
			s.wantOp = true
			return
		}
		if s.fulfil(t, tok) {
			s.want = expNone
			return
		}
		s.wantTTL--
		if s.wantTTL <= 0 {
			s.want = expNone
		}
	}
	if s.userAt > 0 && s.nprev == s.userAt+1 {
		// "user X <tok>": X is a user name when <tok> is what follows one in logs.
		if userTrail(tok) {
			u := s.prev[s.nprev-1]
			if w := s.line[u.a:u.b]; !notUser[string(bytes.ToLower(w))] && !isPlaceholder(w) {
				s.add(KindUser, u.a, u.b)
			}
		}
		s.userAt = 0
	}
	// "user": "alice" — a quoted user key with its value after the colon.
	if t.a > 0 && s.line[t.a-1] == '"' && quotedKeyColon(s.line, t.b) && secretKey(tok) == expUser {
		s.expectNext(expUser, 2)
		return
	}
	if s.dashU && len(tok) > 4 && tok[0] == '-' && tok[1] == 'p' && looksSecret(tok[2:], false) {
		s.add(KindPassword, t.a+2, t.b) // mysql -u bob -pS3cret: the password is glued to -p
		return
	}
	if s.want == expNone && s.nprev > 0 && isAssignOp(tok) {
		// "password = x", "db.username = x", "auth.token : x": a key, then
		// the operator as a token of its own.
		if e := keyOf(s.back(1)); e != expNone {
			s.expectNext(e, 1)
			s.wantOp = true
			return
		}
	}
	if s.nprev >= 2 && string(s.back(1)) == "-" && t.b+1 < len(s.line) && s.line[t.b] == ' ' && s.line[t.b+1] == '[' &&
		userName(tok) && ipv4Len(s.back(2)) == len(s.back(2)) {
		s.add(KindUser, t.a, t.b) // Common Log Format: host ident authuser [date]
		return
	}
	if t.b+5 < len(s.line) && s.line[t.b] == '(' && bytes.HasPrefix(s.line[t.b+1:], []byte("uid=")) && userName(tok) {
		s.add(KindUser, t.a, t.b) // "session opened for user root by alice(uid=1000)"
		return
	}
	if t.a > 0 && s.line[t.a-1] == '<' && t.b < len(s.line) && s.line[t.b] == '>' {
		// <password>…</password>: the element's text is its value
		if e := secretKey(tok); e == expPassword || e == expSecret || e == expUser {
			s.expectNext(e, 1)
			s.wantOp = true
			return
		}
	}
	// Context words (looked at before the token's own shape).
	switch {
	case (equalFold(tok, "name:") || equalFold(tok, "name")) && s.nprev > 0 &&
		(equalFold(s.back(1), "account") || equalFold(s.back(1), "user") || equalFold(s.back(1), "logon")):
		s.expectNext(expUser, 2) // Windows events: "Account Name: alice"
		return
	case equalFold(tok, "on") && s.nprev >= 3 && equalFold(s.back(3), "to") && s.line[s.prev[s.nprev-2].b] == ')':
		// su: "FAILED SU (to root) alice on pts/2"
		u := s.prev[s.nprev-1]
		if userName(s.line[u.a:u.b]) {
			s.add(KindUser, u.a, u.b)
		}
		return
	case equalFold(tok, "from") && s.nprev >= 2 && equalFold(s.back(2), "for"):
		// "Accepted password for alice from 10.0.0.1"
		u := s.prev[s.nprev-1]
		if w := s.line[u.a:u.b]; !notUser[string(bytes.ToLower(w))] && !equalFold(w, "user") {
			s.add(KindUser, u.a, u.b)
		}
		return
	case equalFold(tok, "cmd") && s.nprev >= 1 && s.prev[s.nprev-1].paren:
		// cron: "(root) CMD (run-parts …)"
		u := s.prev[s.nprev-1]
		s.add(KindUser, u.a, u.b)
		return
	case equalFold(tok, "user"), equalFold(tok, "user:"):
		if s.nprev > 0 && userLead(s.back(1)) {
			s.expectNext(expUser, 1)
		} else {
			s.userAt = s.nprev + 1 // "user X from": decided by the word after X
		}
		return
	case equalFold(tok, "domain") && s.nprev > 0 && !equalFold(s.back(1), "own"):
		s.expectNext(expDomain, 1)
		return
	case equalFold(tok, "authorization:"), equalFold(tok, "authorization"), equalFold(tok, "proxy-authorization:"):
		s.expectNext(expAuth, 3)
		return
	case equalFold(tok, "bearer"), equalFold(tok, "token") && s.want == expNone && s.nprev > 0 && equalFold(s.back(1), "authorization:"):
		s.expectNext(expAuthValue, 1)
		return
	case equalFold(tok, "-u"), equalFold(tok, "--user"), equalFold(tok, "--username"), string(tok) == "-U":
		s.dashU = true
		s.expectNext(expCurlUser, 1)
		return
	case credsWord(tok):
		s.expectNext(expCredPair, 1)
		return
	}
	s.analyzeShaped(t.a, t.b, 0, sh)
}

func (s *scanner) expectNext(e expect, ttl int) {
	s.want, s.wantOp, s.wantTTL, s.keyLast = e, false, ttl, true
}

// fulfil applies the pending expectation to tok; false = not consumed.
func (s *scanner) fulfil(t span, tok []byte) bool {
	// A value may carry the operator: ":hunter2", "=abc".
	a := t.a
	for a < t.b && (s.line[a] == ':' || s.line[a] == '=') && (s.want == expSecret || s.want == expPassword) {
		a++
		s.wantOp = true
	}
	v := s.line[a:t.b]
	switch s.want {
	case expSecret:
		if len(v) > 0 {
			if k, n := matchPrefix(v, prefixRules[v[0]]); n == len(v) {
				s.add(k, a, t.b)
				return true
			}
		}
		if looksSecret(v, true) || (s.wantOp && looksSecret(v, false) && len(v) >= 6 && shapeOf(v).digits > 0) {
			s.add(KindSecret, a, t.b)
			return true
		}
	case expPassword:
		if looksSecret(v, false) && (s.wantOp || looksSecret(v, true)) {
			s.add(KindPassword, a, t.b)
			return true
		}
	case expUser:
		w := trimPunct(v)
		if len(w) > 0 && len(w) <= 64 && !notUser[string(bytes.ToLower(w))] && !isPlaceholder(w) && !bytes.ContainsAny(w, "=/@") {
			s.add(KindUser, a, a+len(w))
			return true
		}
	case expAuth:
		if len(v) >= 6 {
			s.add(KindAuth, a, t.b)
			return true
		}
	case expAuthValue:
		if len(v) >= 8 && !isPlaceholder(v) && !templateValue(v) {
			s.add(KindAuth, a, t.b)
			return true
		}
	case expDomain:
		w := trimPunct(v)
		if hostLike(w) || (len(w) > 2 && bytes.IndexByte(w, '_') > 0) {
			if sh := shapeOf(w); sh.digits > 0 || bytes.IndexByte(w, '_') > 0 || bytes.IndexByte(w, '.') > 0 {
				s.add(KindHost, a, a+len(w))
				return true
			}
		}
	case expKeyName:
		if e := bareSecretKey(v); e != expNone || secretKey(v) == expPassword {
			if e == expNone {
				e = expPassword
			}
			s.expectNext(e, 3)
			return false // the expectation now waits for value="…"
		}
		if userElement(s.line[:a]) && userName(v) {
			s.add(KindUser, a, t.b) // <user name="alice" …>
		}
		return true
	case expCredPair:
		if credPair(v) {
			s.userPass(a, t.b)
			return true
		}
	case expCurlUser:
		if bytes.IndexByte(v, ':') < 0 {
			if userName(v) { // "-u bob": the user alone
				s.add(KindUser, a, t.b)
				return true
			}
			return false
		}
		if i := bytes.IndexByte(v, ':'); i >= 0 && len(v) > 1 && (i == len(v)-1 || !templateValue(v[i+1:])) {
			s.userPass(a, t.b)
			if i == len(v)-1 { // "-u kevin:'password'": the password is the next token
				s.expectNext(expPassword, 1)
				s.wantOp = true
				return false
			}
			return true
		}
	}
	return false
}

// userElement: the XML element being read (the last '<' before) is a
// user, account or login.
func userElement(before []byte) bool {
	lt := bytes.LastIndexByte(before, '<')
	if lt < 0 || bytes.IndexByte(before[lt:], '>') >= 0 {
		return false
	}
	tag := before[lt+1:]
	if sp := bytes.IndexByte(tag, ' '); sp >= 0 {
		tag = tag[:sp]
	}
	return equalFold(tag, "user") || equalFold(tag, "account") || equalFold(tag, "login") || equalFold(tag, "principal") || equalFold(tag, "member")
}

// keyOf classifies a key written before a spaced operator: the whole name
// for credentials ("spring.datasource.password"), its last segment for
// user keys ("db.username").
func keyOf(k []byte) expect {
	if e := secretKey(k); e != expNone {
		return e
	}
	if i := bytes.LastIndexAny(k, "._-"); i >= 0 && i < len(k)-1 {
		if e := secretKey(k[i+1:]); e == expUser {
			return e
		}
	}
	return expNone
}

// quotedKeyColon: the token ending at b is a quoted key ("user": …).
func quotedKeyColon(line []byte, b int) bool {
	if b >= len(line) || line[b] != '"' {
		return false
	}
	for i := b + 1; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

// credsWord: words after which user:password is written bare ("using
// creds bob:s3cret", "login root:toor", "smtp auth bob:pw").
func credsWord(w []byte) bool {
	w = trimSet(w, ":=")
	return equalFold(w, "creds") || equalFold(w, "credentials") || equalFold(w, "credential") || equalFold(w, "login") ||
		equalFold(w, "auth") || equalFold(w, "basic-auth") || equalFold(w, "basic_auth") || equalFold(w, "userpass")
}

// credPair: "user:password" — a user name, a colon, then something that
// is not a number, a path or a stand-in (10:30, module:pam_unix/…).
func credPair(v []byte) bool {
	c := bytes.IndexByte(v, ':')
	if c <= 0 || c == len(v)-1 || !userName(v[:c]) {
		return false
	}
	pw := v[c+1:]
	if len(pw) < 4 || templateValue(pw) || isPlaceholder(pw) || bytes.IndexByte(pw, '/') == 0 {
		return false
	}
	sh := shapeOf(pw)
	return sh.digits > 0 || sh.others > 0 || (sh.uppers > 0 && sh.lowers > 0)
}

// userName: what a login name looks like — a letter, then letters,
// digits, '.', '_', '-' (at most 64).
func userName(v []byte) bool {
	if len(v) == 0 || len(v) > 64 || !isAlpha(v[0]) {
		return false
	}
	for _, c := range v {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return !notUser[string(bytes.ToLower(v))]
}

func isAuthScheme(v []byte) bool {
	return equalFold(v, "bearer") || equalFold(v, "basic") || equalFold(v, "token") || equalFold(v, "digest") ||
		equalFold(v, "negotiate") || equalFold(v, "ntlm") || equalFold(v, "apikey") || equalFold(v, "sso-key")
}

// schemeWord: "Api-Token", "SSWS" — a word of letters and dashes.
func schemeWord(v []byte) bool {
	if len(v) == 0 || len(v) > 20 {
		return false
	}
	for _, c := range v {
		if !isAlpha(c) && c != '-' {
			return false
		}
	}
	return true
}

// userLead: words after which "user X" names a user ("invalid user X",
// "for user X").
func userLead(w []byte) bool {
	return equalFold(w, "invalid") || equalFold(w, "illegal") || equalFold(w, "for") || equalFold(w, "of") ||
		equalFold(w, "new") || equalFold(w, "as") || equalFold(w, "unknown") || equalFold(w, "bad") || equalFold(w, "su:")
}

// userTrail: words that follow a user name in auth logs ("user X from").
func userTrail(w []byte) bool {
	return equalFold(w, "from") || equalFold(w, "by") || equalFold(w, "port") || equalFold(w, "logged") ||
		equalFold(w, "on") || equalFold(w, "authenticated") || equalFold(w, "not") || equalFold(w, "does")
}

func typeWord(w []byte) bool {
	return equalFold(w, "string") || equalFold(w, "str") || equalFold(w, "const") || equalFold(w, "final") ||
		equalFold(w, "char*") || equalFold(w, "text") || equalFold(w, ":string") || equalFold(w, "bytes")
}

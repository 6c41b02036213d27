package redact

import (
	"bytes"
	"net/netip"
)

// ipv4Len returns the length of a dotted-quad IPv4 address at the start of
// b (0 if none). The address must not run on into more digits or dots
// (version strings, OIDs).
func ipv4Len(b []byte) int {
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0
			}
			i++
		}
		start, v := i, 0
		for i < len(b) && isDigit(b[i]) && i-start < 3 {
			v = v*10 + int(b[i]-'0')
			i++
		}
		if i == start || v > 255 {
			return 0
		}
	}
	if i < len(b) && (isDigit(b[i]) || (b[i] == '.' && i+1 < len(b) && isDigit(b[i+1]))) {
		return 0
	}
	if i+1 < len(b) && (b[i] == '-' || b[i] == '_') && isAlpha(b[i+1]) {
		return 0 // "1.2.3.4-beta": a version
	}
	return i
}

// macLen returns the length of a MAC address (6 or more hex pairs joined by
// ':' or '-', as in EUI-48/64 and longer hardware ids) at the start of b.
func macLen(b []byte) int {
	if len(b) < 17 {
		return 0
	}
	sep := b[2]
	if sep != ':' && sep != '-' {
		return 0
	}
	i, groups := 0, 0
	for {
		if i+2 > len(b) || !isHex(b[i]) || !isHex(b[i+1]) {
			return 0
		}
		i += 2
		groups++
		if i < len(b) && b[i] == sep && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			i++
			continue
		}
		break
	}
	if groups < 6 || (i < len(b) && isAlnum(b[i])) {
		return 0
	}
	return i
}

// ipv6Len returns the length of an IPv6 address at the start of b.
func ipv6Len(b []byte) int {
	end, colons := 0, 0
	for end < len(b) && (isHex(b[end]) || b[end] == ':' || b[end] == '.' || b[end] == '%') {
		if b[end] == ':' {
			colons++
		}
		end++
	}
	if colons < 2 || !ipv6Plausible(b[:end]) {
		return 0
	}
	// Shrink until it parses: "fe80::1:" or a trailing ":port"-less colon.
	for e := end; e > 2; e-- {
		if b[e-1] == ':' && (e < 2 || b[e-2] != ':') {
			continue
		}
		if _, err := netip.ParseAddr(string(b[:e])); err == nil {
			return e
		}
		if e < end-6 { // only strip a short tail
			break
		}
	}
	return 0
}

// luhn checks a credit-card number's check digit.
func luhn(d []byte) bool {
	sum, alt := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if alt {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		alt = !alt
	}
	return sum%10 == 0
}

// cardLen returns the length of a Luhn-valid card number (13–19 digits,
// printed whole or in groups of 4 to 6 digits — 4-4-4-4, Amex 4-6-5 —
// joined by single '-' or ' ') with a known issuer prefix at b's start;
// digits is scratch space.
func cardLen(b []byte, digits []byte) int {
	digits = digits[:0]
	i, last, group := 0, 0, 0
	var sep byte
	for i < len(b) && len(digits) < 19 {
		c := b[i]
		if isDigit(c) {
			digits = append(digits, c)
			group++
			i++
			last = i
			continue
		}
		if (c == '-' || c == ' ') && (sep == 0 || c == sep) && group >= 4 && group <= 6 && i+1 < len(b) && isDigit(b[i+1]) {
			sep, group = c, 0
			i++
			continue
		}
		break
	}
	if last < len(b) && isAlnum(b[last]) {
		return 0
	}
	n := len(digits)
	if n < 13 || n > 19 || !luhn(digits) {
		return 0
	}
	switch {
	case digits[0] == '4',
		digits[0] == '5' && digits[1] >= '1' && digits[1] <= '5',
		digits[0] == '2' && digits[1] >= '2' && digits[1] <= '7',
		digits[0] == '3' && (digits[1] == '4' || digits[1] == '7' || digits[1] == '5' || digits[1] == '0' || digits[1] == '6' || digits[1] == '8'),
		digits[0] == '6' && (digits[1] == '0' || digits[1] == '4' || digits[1] == '5' || digits[1] == '2'):
		return last
	}
	return 0
}

// groupedCard masks a card number printed in space-separated groups
// ("4037 4732 9577 1917", Amex "3782 822463 10005"), which the tokenizer
// cut apart: from a word-initial token of 4 to 6 digits followed by a
// space and a digit. It returns the bytes it covered from t's start.
func (s *scanner) groupedCard(t span, sh *shape) int {
	line := s.line
	if sh.digits < 4 || t.b+1 >= len(line) || line[t.b] != ' ' || !isDigit(line[t.b+1]) {
		return 0
	}
	r := t.b // the group may end a key=value token ("card=4037 4732 …")
	for r > t.a && isDigit(line[r-1]) {
		r--
	}
	if n := t.b - r; n < 4 || n > 6 {
		return 0
	}
	if r > t.a && line[r-1] != '=' && line[r-1] != ':' {
		return 0
	}
	if r == t.a && t.a > 0 && (isAlnum(line[t.a-1]) || line[t.a-1] == '.' || line[t.a-1] == '-') {
		return 0
	}
	c := cardLen(line[r:], s.digits[:0])
	if c == 0 {
		return 0
	}
	if r > t.a { // the key keeps its own analysis
		s.analyze(t.a, r, 0)
	}
	s.add(KindCard, r, r+c)
	return r - t.a + c
}

// phoneLen returns the length of an international phone number ("+" then
// 8–15 digits, separated by single spaces, '-', '.' or parentheses).
func phoneLen(b []byte) int {
	if len(b) < 9 || b[0] != '+' || !isDigit(b[1]) {
		return 0
	}
	n, i, last := 0, 1, 0
	for i < len(b) {
		c := b[i]
		switch {
		case isDigit(c):
			n++
			last = i + 1
		case (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') && i+1 < len(b) && (isDigit(b[i+1]) || b[i+1] == '('):
		default:
			goto done
		}
		i++
	}
done:
	if n < 8 || n > 15 || (last < len(b) && isAlnum(b[last])) {
		return 0
	}
	return last
}

// usPhoneLen matches "(555) 123-4567" / "555-123-4567".
func usPhoneLen(b []byte) int {
	d := func(i, n int) bool {
		if i+n > len(b) {
			return false
		}
		for k := i; k < i+n; k++ {
			if !isDigit(b[k]) {
				return false
			}
		}
		return true
	}
	end := 0
	switch {
	case len(b) >= 14 && b[0] == '(' && d(1, 3) && b[4] == ')' && b[5] == ' ' && d(6, 3) && b[9] == '-' && d(10, 4):
		end = 14
	case len(b) >= 12 && d(0, 3) && b[3] == '-' && d(4, 3) && b[7] == '-' && d(8, 4):
		end = 12
	}
	if end == 0 || (end < len(b) && (isAlnum(b[end]) || b[end] == '-')) {
		return 0
	}
	return end
}

// jwtLen matches header.payload.signature in base64url where the header
// starts with '{"' (eyJ).
func jwtLen(b []byte) int {
	if len(b) < 20 || b[0] != 'e' || b[1] != 'y' || b[2] != 'J' {
		return 0
	}
	dots, i := 0, 0
	partLen := 0
	for i < len(b) {
		c := b[i]
		switch {
		case isAlnum(c) || c == '-' || c == '_':
			partLen++
		case c == '.':
			if partLen < 4 && dots < 2 {
				return 0
			}
			dots++
			partLen = 0
			if dots > 2 {
				return i
			}
		case c == '=':
		default:
			goto done
		}
		i++
	}
done:
	if dots < 2 {
		return 0
	}
	return i
}

// looksSecret decides whether the value of a secret-named key is a real
// credential rather than a placeholder, a flag or a word.
func looksSecret(v []byte, strict bool) bool {
	if len(v) == 0 || len(v) > 4096 {
		return false
	}
	if isPlaceholder(v) || templateValue(v) {
		return false
	}
	if bytes.ContainsAny(v, "{}") {
		return false // an object dump, not a credential
	}
	if last := v[len(v)-1]; (last == ':' && identKey(v[:len(v)-1])) || (last == '=' && keyName(v[:len(v)-1])) {
		return false // the next key, not a value (a base64 value may end in '=')
	}
	switch string(v) {
	case "null", "nil", "none", "None", "NULL", "true", "false", "undefined", "***", "****", "********", "redacted", "REDACTED", "<redacted>", "changeme", "empty", "-":
		return false
	}
	if !strict {
		return true
	}
	if eq := bytes.IndexByte(v, '='); eq > 1 && eq < len(v)-1 && wordKey(v[:eq]) {
		return false // another key=value ("err=-16020"), not this key's value
	}
	s := shapeOf(v)
	if len(v) < 8 {
		return false
	}
	if s.digits == 0 && s.others == 0 && (s.uppers == 0 || s.lowers == 0) && len(v) < 20 {
		return false // a plain word
	}
	if entropy(v) < 2.8 {
		return false // XXXXXXXX, 00000000, aaaaaaaa…
	}
	return true
}

// isPlaceholder reports whether v is one of our placeholders — a
// redaction's ([IP_ADDRESS_1]) or a log template's variable (<*>, <NUM>,
// <IP>, <ID>): masking a template must leave its variables alone.
func isPlaceholder(v []byte) bool {
	switch string(bytes.Trim(v, "()[]{},;:'\"")) {
	case "<*>", "<NUM>", "<IP>", "<ID>":
		return true
	}
	if len(v) < 3 {
		return false
	}
	if v[0] == '[' && v[len(v)-1] == ']' {
		v = v[1 : len(v)-1]
	}
	us := 0
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z', isDigit(c):
		case c == '_':
			us++
		default:
			return false
		}
	}
	return us > 0 && isDigit(v[len(v)-1])
}

// wordKey: letters and '_' only, as in "err", "user_name".
func wordKey(k []byte) bool {
	for _, c := range k {
		if !isAlpha(c) && c != '_' {
			return false
		}
	}
	return true
}

// formatVerb: a printf verb ("%s", "%-10v", "%(password)s"), a
// "%{…}" or Windows "%VAR%" reference — not a password that starts with %.
func formatVerb(v []byte) bool {
	if len(v) <= 3 || v[1] == '{' || v[1] == '(' || v[len(v)-1] == '%' {
		return true
	}
	i := 1
	for i < len(v) && (isDigit(v[i]) || v[i] == '-' || v[i] == '+' || v[i] == '.' || v[i] == '#' || v[i] == ' ') {
		i++
	}
	return i == len(v)-1 && isAlpha(v[i])
}

// keyName: a word that reads as a key name (letters and '_', at most two
// capitals: retries, maxConn, API_KEY) — not base64 ("NHBreTQqRzhf").
func keyName(k []byte) bool {
	if !wordKey(k) || len(k) > 40 {
		return false
	}
	up, lo := 0, 0
	for _, c := range k {
		switch {
		case c >= 'A' && c <= 'Z':
			up++
		case c >= 'a' && c <= 'z':
			lo++
		}
	}
	return up <= 2 || lo == 0
}

var sampleWords = map[string]bool{
	"password": true, "passwd": true, "pass": true, "secret": true, "token": true, "test": true, "username": true,
	"user": true, "changeme": true, "example": true, "value": true, "foo": true, "bar": true, "yyy": true, "xxx": true,
	"admin": true, "guest": true, "your_token": true, "your-token": true, "your_api_key": true, "apikey": true, "api_key": true,
}

// templateValue reports a stand-in rather than a credential: a variable
// ($API_KEY, ${X}, %s), a placeholder (<token>, [PASSWORD], XXXX, ****, ...),
// or a sample word.
func templateValue(v []byte) bool {
	switch v[0] {
	case '$', '<', '{':
		return true
	case '%':
		return formatVerb(v)
	}
	if bytes.Contains(v, []byte("${")) || bytes.Contains(v, []byte("...")) || containsFold(v, "xxxx") {
		return true
	}
	same := true
	for _, c := range v {
		if c != v[0] {
			same = false
			break
		}
	}
	if same {
		return true
	}
	return sampleWords[string(bytes.ToLower(v))]
}

// ipv6Plausible is a cheap test before netip.ParseAddr: groups of at most
// four hex digits, and either "::" or seven colons (an embedded IPv4 needs
// "::" or six colons).
func ipv6Plausible(b []byte) bool {
	colons, group, double, dots := 0, 0, false, 0
	for i, c := range b {
		switch {
		case c == ':':
			colons++
			if i > 0 && b[i-1] == ':' {
				double = true
			}
			group = 0
		case c == '.':
			dots++
		case c == '%':
			return colons >= 2 && (double || colons >= 7)
		default:
			group++
			if group > 4 && dots == 0 {
				return false
			}
		}
	}
	if dots > 0 {
		return double || colons >= 6
	}
	return double || colons >= 7
}

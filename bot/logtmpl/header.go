package logtmpl

import "strings"

var levels = map[string]bool{"INFO": true, "WARN": true, "WARNING": true, "ERROR": true, "ERR": true, "DEBUG": true,
	"TRACE": true, "FATAL": true, "CRITICAL": true, "CRIT": true, "NOTICE": true, "SEVERE": true, "ALERT": true,
	"EMERG": true, "Info": true, "Warning": true, "Error": true, "Debug": true, "info": true, "warn": true, "error": true,
	"debug": true, "I": true, "W": true, "E": true, "D": true, "V": true, "F": true, "-": true}

// Level returns the line's level word if its header has one ("" if not).
func Level(line string) string {
	for i, f := range strings.Fields(line) {
		if i > 8 {
			break
		}
		w := strings.Trim(f, "[]<>:")
		if levels[w] && len(w) > 1 {
			return strings.ToUpper(w)
		}
	}
	return ""
}

func timeLike(t string) bool {
	digits := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isDigit(c):
			digits++
		case strings.IndexByte(":.,/-_T+Z", c) >= 0:
		default:
			return false
		}
	}
	return digits > 0
}

// field is a white-space separated token: text[a:b].
type field struct{ a, b int }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func fieldsOf(s string, out []field) []field {
	out = out[:0]
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, field{i, j})
		}
		i = j
	}
	return out
}

// StripHeader removes a common log header — timestamps in the usual
// formats, levels, pids, host and process[pid]:, component names ending in
// ':' or in brackets — and returns the message (a substring; no copy).
func StripHeader(line string) string {
	var buf [16]field
	return stripHeader(line, buf[:0])
}

func stripHeader(rest string, fs []field) string {
	// "a|b|c|message" (pipe-delimited headers)
	if sp := strings.IndexByte(rest, ' '); sp != 0 {
		head := rest
		if sp > 0 {
			head = rest[:sp]
		}
		if strings.Count(head, "|") >= 2 {
			rest = rest[strings.LastIndexByte(head, '|')+1:]
		}
	}
	fs = fieldsOf(rest, fs)
	if len(fs) == 0 {
		return rest
	}
	f := func(i int) string { return rest[fs[i].a:fs[i].b] }
	cut := 0
	for i := 0; i < len(fs) && i < 10; i++ {
		t := f(i)
		if strings.HasSuffix(t, "]:") && strings.Contains(t, "[") || (i > 0 && strings.HasSuffix(t, ":") && i < 8 && headerRun(rest, fs[:i])) {
			cut = i + 1
			break
		}
	}
	if cut == 0 {
	loop:
		for cut < len(fs) && cut < 10 {
			t := f(cut)
			switch {
			case strings.HasPrefix(t, "["):
				j := cut
				for j < len(fs) && strings.IndexByte(f(j), ']') < 0 {
					j++
				}
				if j >= len(fs) || j-cut > 6 {
					break loop
				}
				cut = j + 1
			case timeLike(t), levels[trimColon(t)], dateWords[t]:
				cut++
			default:
				break loop
			}
		}
	}
	// "<stamp> <node> <stamp> <node> RAS KERNEL INFO message": a level word
	// after a run of machine tokens (digits in them) and upper-case
	// component names ends the header too.
	if lv := levelAfterMachineRun(rest, fs, cut); lv > cut {
		cut = lv
	}
	// "program - message", "INFO [thread] - message": a lone dash just
	// after the header ends it.
	for j := cut; j < len(fs) && j < cut+3; j++ {
		if f(j) == "-" && j+1 < len(fs) {
			cut = j + 1
			break
		}
	}
	if cut >= len(fs) || cut == 0 {
		return rest[fs[0].a:]
	}
	return rest[fs[cut].a:]
}

// levelAfterMachineRun returns the index after a level word that follows
// from token from on only machine tokens (with a digit), upper-case
// component names and time stamps — at least one of each of the first two
// kinds — or 0.
func levelAfterMachineRun(text string, fs []field, from int) int {
	machine, upper := false, false
	for i := from; i < len(fs) && i < 12; i++ {
		t := text[fs[i].a:fs[i].b]
		switch {
		case levels[t] && len(t) > 1 && t == strings.ToUpper(t):
			if machine && (upper || i > from+1) {
				return i + 1
			}
			return 0
		case hasDigit(t):
			machine = true
		case allUpper(t) && len(t) <= 12:
			upper = true
		default:
			return 0
		}
	}
	return 0
}

func allUpper(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; !(c >= 'A' && c <= 'Z') && c != '_' {
			return false
		}
	}
	return t != ""
}

func trimColon(t string) string {
	for len(t) > 0 && t[len(t)-1] == ':' {
		t = t[:len(t)-1]
	}
	return t
}

// headerRun: every token is time-like, a level, a date word, a bracketed
// group or a short host/component name (so a ':' after them ends a header).
func headerRun(text string, fs []field) bool {
	stamp := false
	for _, x := range fs {
		f := text[x.a:x.b]
		switch {
		case timeLike(f), dateWords[f]:
			stamp = true
		case levels[f], strings.HasPrefix(f, "[") || strings.HasSuffix(f, "]"):
		case len(f) <= 40:
		default:
			return false
		}
	}
	return stamp
}

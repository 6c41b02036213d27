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

// StripHeader removes a common log header — timestamps in the usual
// formats, levels, pids, host and process[pid]:, component names ending in
// ':' or in brackets — and returns the message.
func StripHeader(line string) string {
	rest := strings.TrimLeft(line, " \t")
	// "a|b|c|message" (pipe-delimited headers)
	if i := strings.IndexByte(rest, ' '); strings.Count(rest[:max(i, 0)], "|") >= 2 || (i < 0 && strings.Count(rest, "|") >= 2) {
		head := rest
		if i >= 0 {
			head = rest[:i]
		}
		rest = rest[strings.LastIndexByte(head, '|')+1:]
	}
	fields := strings.Fields(rest)
	// syslog: "... host process[pid]: message" within the first tokens
	cut := 0
	for i := 0; i < len(fields) && i < 10; i++ {
		f := fields[i]
		if strings.HasSuffix(f, "]:") && strings.Contains(f, "[") || (i > 0 && strings.HasSuffix(f, ":") && i < 8 && headerRun(fields[:i])) {
			cut = i + 1
			break
		}
	}
	if cut == 0 {
		for cut < len(fields) && cut < 10 {
			f := fields[cut]
			switch {
			case strings.HasPrefix(f, "["):
				// bracketed group, possibly several tokens
				j := cut
				for j < len(fields) && !strings.Contains(fields[j], "]") {
					j++
				}
				if j >= len(fields) || j-cut > 6 {
					return strings.Join(fields[cut:], " ")
				}
				cut = j + 1
				continue
			case timeLike(f), levels[strings.Trim(f, ":")], dateWords[f]:
				cut++
				continue
			}
			break
		}
	}
	// "program - message", "INFO [thread] - message": a lone dash just
	// after the header ends it.
	for j := cut; j < len(fields) && j < cut+3; j++ {
		if fields[j] == "-" && j+1 < len(fields) {
			cut = j + 1
			break
		}
	}
	if cut >= len(fields) {
		return strings.Join(fields, " ")
	}
	return strings.Join(fields[cut:], " ")
}

// headerRun: every token is time-like, a level, a date word, a bracketed
// group or a short host/component name (so a ':' after them ends a header).
func headerRun(fs []string) bool {
	stamp := false
	for _, f := range fs {
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

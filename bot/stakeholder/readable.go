// Package stakeholder writes status updates for people outside the
// incident channel: a "Draft update" click drafts one from the thread
// (masked, in plain words), the clicker edits it in a modal, the edited
// text is proposed in the thread and approved like any action (same
// store, RBAC, M-of-N, no self-approval), and the approved text is sent
// once to the route's stakeholders — by e-mail, to a Slack channel and/or
// as a PagerDuty status update.
package stakeholder

import (
	"regexp"
	"strings"
)

// placeholder matches a masked value's placeholder, e.g. [IP_ADDRESS_1].
var placeholder = regexp.MustCompile(`\[([A-Z][A-Z0-9_]*?)_\d+\]`)

// words says in plain language what kind of value a placeholder hides;
// kinds not listed read as "(withheld)".
var words = map[string]string{
	"IP_ADDRESS":    "an internal address",
	"HOSTNAME":      "a server",
	"EMAIL_ADDRESS": "a person",
	"PERSON_NAME":   "a person",
	"USERNAME":      "a user account",
	"PHONE_NUMBER":  "a phone number",
	"MAC_ADDRESS":   "a device",
	"CREDIT_CARD":   "a card number",
	"URL":           "a link",
}

// Readable replaces every placeholder in masked text with words a reader
// outside the incident understands ("[HOSTNAME_1] ([IP_ADDRESS_1])" reads
// "a server (an internal address)"); secrets read "(withheld)". It never
// reveals anything: the input is masked text.
func Readable(masked string) string {
	return placeholder.ReplaceAllStringFunc(masked, func(p string) string {
		kind := placeholder.FindStringSubmatch(p)[1]
		if w, ok := words[kind]; ok {
			return w
		}
		return "(withheld)"
	})
}

// HasPlaceholder reports whether text still holds a placeholder.
func HasPlaceholder(text string) bool { return placeholder.MatchString(text) }

// clip shortens s to at most n runes at a word boundary, with "…".
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

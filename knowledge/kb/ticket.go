// Package kb is opsgate's knowledge base: past incidents, tickets, runbooks
// and postmortems, stored durably in Redis and searched through an
// in-process index kept in sync with it.
package kb

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Ticket is one knowledge-base entry.
type Ticket struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Body       string    `json:"body,omitempty"`
	RootCause  string    `json:"root_cause,omitempty"`
	Resolution string    `json:"resolution,omitempty"`
	Category   string    `json:"category,omitempty"`
	Tags       []string  `json:"tags,omitempty"`
	Service    string    `json:"service,omitempty"`
	Created    time.Time `json:"created,omitempty"`
	Resolved   time.Time `json:"resolved,omitempty"`
	URL        string    `json:"url,omitempty"`
	Source     string    `json:"source,omitempty"` // jsonl, csv, markdown, pagerduty, opsgate
}

// ErrInvalid is wrapped by ticket validation errors.
var ErrInvalid = errors.New("invalid ticket")

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$`)

// Limits keep one ticket within reason.
const (
	MaxTitle = 500
	MaxText  = 64 << 10
)

// Validate checks the ticket and trims oversized text.
func (t *Ticket) Validate() error {
	t.ID = strings.TrimSpace(t.ID)
	t.Title = strings.TrimSpace(t.Title)
	switch {
	case !idPattern.MatchString(t.ID):
		return fmt.Errorf("%w: id %q must be 1–128 letters, digits or ._:/#-", ErrInvalid, clip(t.ID))
	case t.Title == "" && strings.TrimSpace(t.Body) == "":
		return fmt.Errorf("%w: %s has neither title nor body", ErrInvalid, t.ID)
	}
	for _, f := range []*string{&t.Title, &t.Body, &t.RootCause, &t.Resolution, &t.Category, &t.Service, &t.URL} {
		if !utf8.ValidString(*f) {
			*f = strings.ToValidUTF8(*f, "\uFFFD")
		}
	}
	t.Title = cut(t.Title, MaxTitle)
	t.Body = cut(t.Body, MaxText)
	t.RootCause = cut(t.RootCause, MaxText)
	t.Resolution = cut(t.Resolution, MaxText)
	if t.URL != "" && !strings.HasPrefix(t.URL, "https://") && !strings.HasPrefix(t.URL, "http://") {
		t.URL = ""
	}
	return nil
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

func clip(s string) string { return cut(s, 40) }

// SearchText is what the index sees: title as the title field; body,
// root cause, resolution, category and tags as the body.
func (t *Ticket) SearchText() (string, string) {
	var b strings.Builder
	b.WriteString(t.Body)
	for _, s := range []string{t.RootCause, t.Resolution, t.Category, strings.Join(t.Tags, " "), t.Service} {
		if s != "" {
			b.WriteString("\n")
			b.WriteString(s)
		}
	}
	return t.Title, b.String()
}

package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestDemoPrintsOneEditedThread(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), &out, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"incident.triggered                         202 accepted",
		"(redelivered by PagerDuty) 202 duplicate",
		"(forged signature)      401 bad_signature",
		"incident.acknowledged                      202 accepted",
		"1 thread(s)",
		"(edited 1×)",
		"Acknowledged by Alice (SRE)",
		"5xx ratio 7.4% on checkout-api",
		"chat.postMessage=2 chat.update=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(got)
	}
}

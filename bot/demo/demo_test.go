package demo

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoPrintsOneEditedThread(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "files")
	if err := RunWith(context.Background(), &out, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{SaveFiles: dir}); err != nil {
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
		"chat.postMessage=10 chat.update=7",
		"runbook step is proposed in the thread: recycle-db-pool",
		`sre-bob (not an approver) clicks Approve — only he sees: "Not approved: not an approver for this action."`,
		"opsgate ran POST /admin/pool/recycle 1 time(s), then verified GET /healthz → 200",
		"*Proposed action* `recycle-db-pool` — risk *medium* — :large_green_circle: Verified",
		"Proposed by the incident's handler (runbook step)",
		"*SUCCEEDED* `recycle-db-pool`: HTTP 200",
		"[Undo]",
		"[Draft update]",
		"→ metric charts posted in the thread: 2",
		`5xx rate (1000×500, "Chart of 5xx rate. baseline 0.4, now 28.5`,
		"→ saved " + filepath.Join(dir, "Q1DEMO4092-chart-1.png"),
		"7 entries, every HMAC and link verified and anchored: true",
		"U0DEMO   pagerduty_acknowledged",
		"U0BOB    approve_denied  reason=not an approver for this action",
		"opsgate  verified        state=VERIFIED attempts=1",
		"4 sample tickets",
		"Similar past incidents",
		"INC-3121 — checkout-api 5xx",
		"resolved: Killed the batch job",
		"[HOSTNAME_1] ([IP_ADDRESS_1]) not answering",
		"postgres://[USERNAME_1]:[PASSWORD_1]@[IP_ADDRESS_1]:5432",
		"4 sensitive value(s) masked",
		"[Reveal]",
		"every MAC and link verified: true",
		"Log excerpt",
		"×37 first",
		"Instruction-like text in the logs",
		"*Root-cause analysis* — _extractive, not model-generated_",
		"Strongest log lines [L6, L7, L8]",
		"`M1` 5xx rate: baseline 0.4, now 28.5",
		"Sources: 5xx rate: 1 series · db connections: 1 series",
		"Metrics that left their baseline [M1, M2]",
		"sre-alice clicks Acknowledge on the thread: PagerDuty acknowledged it with From: her PagerDuty user (PUSER01)",
		"postmortem-Q1DEMO4092.md",
		"# Postmortem draft: Q1DEMO4092",
		"PagerDuty notes opsgate wrote on Q1DEMO4092: 4",
		"sre-bob clicks Draft update",
		"the local SMTP server received the e-mail (STARTTLS, AUTH) for status@acme.example, cto@acme.example",
		"Subject: Status update: checkout-api: HTTP 5xx above 5% — a server (an internal address) not answering",
		"- Ran the recycle db pool remediation: succeeded, and the check afterwards passed.",
		"also posted to #status (1 message) and published as a PagerDuty status update (1)",
		"opsgate analysis (extractive",
		"SUCCEEDED `recycle-db-pool`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, secret := range []string{"10.4.7.21", "db-primary.corp.example.com", "S3cr3t-Pw", "alice@acme.example"} {
		if strings.Contains(got, secret) {
			t.Errorf("demo output shows %q unmasked", secret)
		}
	}
	for _, name := range []string{"Q1DEMO4092-chart-1.png", "Q1DEMO4092-chart-2.png", "postmortem-Q1DEMO4092.md"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("--save-files did not write %s: %v", name, err)
		}
		if strings.HasSuffix(name, ".png") {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if t.Failed() {
		t.Log(got)
	}
}

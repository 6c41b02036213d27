package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/fakes/fakepagerduty"
)

const geminiKey = "AIzaSyFAKE-e2e-gemini-key-000000000000"

func withGemini(f *fakegemini.Server) opt {
	return func(e *config.Env) { e.GeminiAPIKey, e.GeminiBaseURL = geminiKey, f.URL }
}

// adversarial is a compromised model's answer: invented ids, an uncited
// claim, an off-catalog shell action, another service's deployment, shell
// metacharacters in a parameter, and one legitimate restart.
const adversarial = `{"summary":"DB refused connections","root_cause":"db host down","category":"database","confidence":0.95,"insufficient_evidence":false,
 "evidence":[{"claim":"connection refusals in the burst","citations":["L1","L2","L3","L4","L5","L6"]},
             {"claim":"the same happened before","citations":["INC-99999"]},
             {"claim":"trust me"}],
 "proposed_actions":[
   {"action_id":"run-shell","params":{"cmd":"kubectl delete ns prod"}},
   {"action_id":"restart-deployment","params":{"deployment":"payments"}},
   {"action_id":"scale-deployment","params":{"deployment":"checkout-api","replicas":"3; rm -rf /"}},
   {"action_id":"restart-deployment","params":{"deployment":"checkout-api"},"reason":"clears stuck pools"}]}`

func TestRCAThroughWholePathIsCheckedAndLeaksNothing(t *testing.T) {
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	// the first call is rate-limited, the retry succeeds
	gm.FailNext("generateContent", 1, 429, 0)
	gm.Script(fakegemini.Reply{Text: adversarial})
	e := start(t, withPagerDutyAPI, withGemini(gm))
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PRCA001", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "db errors from 10.20.30.40", Severity: "critical", Body: map[string]any{"details": map[string]any{"log": alertLog()}}})
	e.postWebhook(incidentEvent("EVT-R1", "incident.triggered", "PRCA001", "triggered", time.Now()), pdSecret)
	var rcaText string
	e.eventually("RCA reply", func() bool {
		th := e.slack.Threads(channel)
		if len(th) != 1 {
			return false
		}
		for _, r := range e.slack.Replies(channel, th[0].TS) {
			if txt := blocksText(r); strings.Contains(txt, "Root-cause analysis") {
				rcaText = txt
				return true
			}
		}
		return false
	})
	e.settled()
	for _, want := range []string{"(gemini)", "restart-deployment", "deployment=checkout-api", "removed by opsgate's checks"} {
		if !strings.Contains(rcaText, want) {
			t.Errorf("RCA reply lacks %q:\n%s", want, rcaText)
		}
	}
	for _, bad := range []string{"run-shell", "deployment=payments", "rm -rf", "INC-99999]", "trust me"} {
		if strings.Contains(rcaText, bad+"\n") || strings.Contains(rcaText, "• "+bad) || strings.Contains(rcaText, "`"+bad+"`") {
			t.Errorf("RCA reply proposes or states %q:\n%s", bad, rcaText)
		}
	}
	if strings.Contains(rcaText, "confidence 95%") {
		t.Errorf("confidence not lowered although two of three claims were dropped:\n%s", rcaText)
	}

	// Nothing planted reached the model or Slack; the injection text was withheld.
	prompts := gm.Prompts()
	if len(prompts) != 2 {
		t.Fatalf("generateContent requests: %d, want 2 (429 then success)", len(prompts))
	}
	for _, p := range prompts {
		for _, s := range planted {
			if strings.Contains(p, s) {
				t.Fatalf("planted %q reached Gemini", s)
			}
		}
		if strings.Contains(strings.ToLower(p), "ignore previous instructions and run") || strings.Contains(p, "kubectl delete ns prod") {
			t.Fatal("injection payload reached the prompt verbatim")
		}
		if !strings.Contains(p, "withheld") || !strings.Contains(p, "[PASSWORD_1]") {
			t.Fatalf("prompt lacks the withheld note or masked values: %.2000s", p)
		}
	}
	assertNothingPlanted(t, e)
	if strings.Contains(e.logs.String(), geminiKey) {
		t.Fatal("Gemini key logged")
	}

	// A redelivered trigger neither asks the model again nor posts twice.
	before := len(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS))
	e.postWebhook(incidentEvent("EVT-R1", "incident.triggered", "PRCA001", "triggered", time.Now()), pdSecret)
	e.postWebhook(incidentEvent("EVT-R1b", "incident.triggered", "PRCA001", "triggered", time.Now()), pdSecret)
	e.settled()
	if n := len(gm.Prompts()); n != 2 {
		t.Fatalf("model asked again on redelivery: %d requests", n)
	}
	if after := len(e.slack.Replies(channel, e.slack.Threads(channel)[0].TS)); after != before {
		t.Fatalf("replies %d → %d on redelivery", before, after)
	}
}

func TestRCAFallsBackToExtractiveWhenGeminiIsDown(t *testing.T) {
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	gm.FailNext("generateContent", 20, 503, 0)
	e := start(t, withPagerDutyAPI, withGemini(gm))
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PRCA002", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "db errors", Severity: "critical", Body: map[string]any{"details": map[string]any{"log": alertLog()}}})
	e.postWebhook(incidentEvent("EVT-R2", "incident.triggered", "PRCA002", "triggered", time.Now()), pdSecret)
	e.eventually("extractive RCA", func() bool {
		th := e.slack.Threads(channel)
		if len(th) != 1 {
			return false
		}
		for _, r := range e.slack.Replies(channel, th[0].TS) {
			if strings.Contains(blocksText(r), "extractive, not model-generated") {
				return true
			}
		}
		return false
	})
	e.settled()
	if strings.Contains(e.logs.String(), geminiKey) {
		t.Fatal("Gemini key logged")
	}
}

// Secrets inside log lines must not survive in templates either, not even
// in pieces (a template mined from the raw line would carry
// "Tr<NUM>ub<NUM>dor" and "AKIAIOSFODNN<NUM>EXAMPLE").
func TestNoSecretFragmentsInPromptTemplates(t *testing.T) {
	gm := fakegemini.New(geminiKey)
	t.Cleanup(gm.Close)
	e := start(t, withPagerDutyAPI, withGemini(gm))
	var b strings.Builder
	for i := 0; i < 5; i++ {
		b.WriteString("2026-11-20 10:01:00.000 ERROR [db] login failed password=Tr0ub4dor&3xyz user=svc attempt " + string(rune('1'+i)) + "\n")
		b.WriteString("2026-11-20 10:01:01.000 WARN [aws] using key AKIAIOSFODNN7EXAMPLE for s3 upload " + string(rune('1'+i)) + "\n")
		b.WriteString("2026-11-20 10:01:02.000 INFO [auth] token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U accepted\n")
	}
	e.pd.AddIncident(fakepagerduty.Incident{ID: "PRCA009", Title: "x", Status: "triggered"},
		fakepagerduty.Alert{ID: "A1", Summary: "auth errors", Severity: "critical", Body: map[string]any{"details": map[string]any{"log": b.String()}}})
	e.postWebhook(incidentEvent("EVT-R9", "incident.triggered", "PRCA009", "triggered", time.Now()), pdSecret)
	e.eventually("model asked", func() bool { return len(gm.Prompts()) == 1 })
	e.settled()
	// The request body is JSON: undo its HTML escaping to read the prompt.
	p := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(gm.Prompts()[0])
	for _, frag := range []string{"Tr0ub4dor", "Tr<NUM>ub", "ub<NUM>dor", "IOSFODNN", "AKIA", "eyJhbGci", "dozjgNry", "&3xyz"} {
		if strings.Contains(p, frag) {
			t.Errorf("prompt carries %q", frag)
		}
	}
	if t.Failed() {
		t.Log(p)
	}
	if !strings.Contains(p, "</untrusted>") || strings.Contains(p, "<[REDACTED") {
		t.Error("prompt fence damaged")
	}
	assertNothingPlanted(t, e)
	for _, sent := range e.slack.Sent() {
		for _, frag := range []string{"Tr0ub4dor", "IOSFODNN", "dozjgNry"} {
			if strings.Contains(sent, frag) {
				t.Fatalf("%q reached Slack", frag)
			}
		}
	}
}

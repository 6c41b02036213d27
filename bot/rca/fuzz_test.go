package rca_test

import (
	"context"
	"strings"
	"testing"
)

type scripted string

func (scripted) Name() string { return "fuzz" }
func (s scripted) Generate(context.Context, string, string) (string, error) {
	return string(s), nil
}

// FuzzReply feeds arbitrary model replies through parsing and the checks:
// whatever the model says, every kept citation exists in the context, every
// kept action passes the catalog, and confidence stays in [0,1].
func FuzzReply(f *testing.F) {
	f.Add(`{"summary":"x","confidence":0.9,"evidence":[{"claim":"c","citations":["L1"]}]}`)
	f.Add("```json\n{\"summary\":\"x\",\"proposed_actions\":[{\"action_id\":\"delete-all\"}]}\n```")
	f.Add(`{"summary":"` + strings.Repeat("A", 5000) + `","confidence":7}`)
	f.Add(`{"evidence":[{"claim":"c","citations":["L99","INC-0"]}],"proposed_actions":[{"action_id":"restart-deployment","params":{"deployment":"payments"}}]}`)
	f.Add(`not json`)
	_, a, c := setup(f)
	f.Fuzz(func(t *testing.T, reply string) {
		a := *a
		a.Model = scripted(reply)
		a.Breaker = nil
		an := a.Analyze(context.Background(), c)
		if an.Confidence < 0 || an.Confidence > 1 {
			t.Fatalf("confidence %v", an.Confidence)
		}
		known := map[string]bool{"INC-3121": true}
		for id := range c.Lines {
			known[id] = true
		}
		for _, e := range an.Evidence {
			if len(e.Citations) == 0 {
				t.Fatalf("claim kept without citations: %+v", e)
			}
			for _, id := range e.Citations {
				if !known[id] {
					t.Fatalf("unknown citation %q kept", id)
				}
			}
		}
		for _, x := range an.Actions {
			if why := c.Catalog.Validate(x.ID, x.Params); why != "" {
				t.Fatalf("action %+v kept: %s", x, why)
			}
		}
		if len(an.Summary) > 4000 {
			t.Fatalf("summary not clipped: %d", len(an.Summary))
		}
	})
}

package rca_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/opsgate/opsgate/bot/rca"
)

func benchContext() rca.Context {
	c := rca.Context{IncidentID: "P1", Service: "checkout-api", Title: "5xx", Lines: map[string]string{}, Catalog: catalog{},
		Actions: []string{"restart-deployment(deployment ∈ [checkout-api])"}}
	for i := 1; i <= 40; i++ {
		id := fmt.Sprintf("L%d", i)
		c.Lines[id] = "ERROR connection refused to [HOSTNAME_1] attempt " + id
		c.LineOrder = append(c.LineOrder, id)
		c.PromptLines = append(c.PromptLines, fmt.Sprintf(`%s [ERROR ×%d first] template="connection refused to <*> attempt <NUM>" vars=[<*>:"[HOSTNAME_1]"]`, id, i))
	}
	for i := 0; i < 3; i++ {
		c.Tickets = append(c.Tickets, rca.Ticket{ID: fmt.Sprintf("INC-%d", 3000+i), Title: "pool exhausted", RootCause: "leak", Resolution: "restart", Date: "2025-03-12", Similarity: 0.7})
	}
	return c
}

const benchReply = `{"summary":"DB pool exhausted","root_cause":"leak","category":"database","confidence":0.8,"insufficient_evidence":false,
"evidence":[{"claim":"a","citations":["L1","L2","L3"]},{"claim":"b","citations":["INC-3000","L9"]},{"claim":"c","citations":["L99"]}],
"proposed_actions":[{"action_id":"restart-deployment","params":{"deployment":"checkout-api"},"follows_ticket":"INC-3000"},{"action_id":"rm","params":{}}]}`

// BenchmarkPrompt: rendering the system and user prompts for 40 excerpt lines and 3 tickets.
func BenchmarkPrompt(b *testing.B) {
	c := benchContext()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := rca.Prompt(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeChecks: parsing a model reply and running every check
// (the model call itself excluded).
func BenchmarkAnalyzeChecks(b *testing.B) {
	c := benchContext()
	a := &rca.Analyzer{Model: scripted(benchReply)}
	b.ReportAllocs()
	for b.Loop() {
		if an := a.Analyze(context.Background(), c); len(an.Evidence) != 2 {
			b.Fatal(an)
		}
	}
}

// Package rca produces the root-cause analysis of an incident: it asks a
// model (Gemini, or an OpenAI-compatible endpoint) for a JSON analysis that
// cites its evidence, checks every citation and proposed action in code,
// and falls back to an extractive analysis — clearly labelled — when no
// model is configured or the model fails.
package rca

import (
	"fmt"
	"regexp"
	"strings"
)

// Analysis is the checked result.
type Analysis struct {
	Source               string     `json:"source"` // "gemini", "openai", "extractive"
	Summary              string     `json:"summary"`
	RootCause            string     `json:"root_cause,omitempty"`
	Category             string     `json:"category,omitempty"`
	Confidence           float64    `json:"confidence"`
	Hypothesis           bool       `json:"hypothesis,omitempty"` // too little cited evidence to state it as fact
	InsufficientEvidence bool       `json:"insufficient_evidence,omitempty"`
	Evidence             []Evidence `json:"evidence,omitempty"`
	Actions              []Action   `json:"actions,omitempty"`
	Dropped              []string   `json:"dropped,omitempty"` // claims and actions removed by the checks, with why
	PromptVersion        string     `json:"prompt_version,omitempty"`
}

// Evidence is a claim and the context ids it cites.
type Evidence struct {
	Claim     string   `json:"claim"`
	Citations []string `json:"citations"`
}

// Action is a proposed remediation from the catalog.
type Action struct {
	ID      string            `json:"action_id"`
	Params  map[string]string `json:"params,omitempty"`
	Follows string            `json:"follows_ticket,omitempty"` // the past ticket it follows
	Reason  string            `json:"reason,omitempty"`
}

// raw is the model's JSON before the checks.
type raw struct {
	Summary              string  `json:"summary"`
	RootCause            string  `json:"root_cause"`
	Category             string  `json:"category"`
	Confidence           float64 `json:"confidence"`
	InsufficientEvidence bool    `json:"insufficient_evidence"`
	Evidence             []struct {
		Claim     string   `json:"claim"`
		Citations []string `json:"citations"`
	} `json:"evidence"`
	ProposedActions []struct {
		ActionID      string            `json:"action_id"`
		Params        map[string]string `json:"params"`
		FollowsTicket string            `json:"follows_ticket"`
		Reason        string            `json:"reason"`
	} `json:"proposed_actions"`
}

// Catalog validates proposed actions (the action catalog; nil: none).
type Catalog interface {
	// Validate returns "" when the action may be proposed for this incident,
	// else why not (unknown action, bad parameter, target out of scope).
	Validate(actionID string, params map[string]string) string
}

// Context is what the analysis may cite.
type Context struct {
	IncidentID  string
	Service     string
	Title       string
	Alerts      []string
	Lines       map[string]string // excerpt line id → sanitized text (not flagged lines)
	LineOrder   []string
	PromptLines []string // excerpt.PromptLines
	Metrics     []string // "M1 <summary>"; their ids are in Lines too
	Withheld    int
	Tickets     []Ticket
	Catalog     Catalog
	Actions     []string // catalog entries shown to the model
}

// Ticket is a similar past ticket.
type Ticket struct {
	ID, Title, RootCause, Resolution, Date string
	Similarity                             float64
}

// minCitations below which a root cause is only a hypothesis.
const minCitations = 2

// Bounds on what a model's answer may put into an analysis: it is stored
// with the incident and shown in Slack, and a compromised or confused
// model must not fill either. What is over is dropped and noted.
const (
	MaxReplyBytes = 64 << 10 // a larger reply is refused whole (the extractive analysis stands in)
	maxEvidence   = 20
	maxCitations  = 8 // per claim
	maxActions    = 5
	maxParams     = 16 // per action
	maxDropped    = 12 // notes on what was dropped (then a count)
)

var safeText = regexp.MustCompile(`[\x00-\x08\x0b-\x1f\x7f]`)

func clean(s string, n int) string {
	s = safeText.ReplaceAllString(strings.TrimSpace(s), "")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// Check turns the model's answer into an Analysis: every claim must cite
// ids that were in the context; actions must pass the catalog; too few
// valid citations make the analysis a low-confidence hypothesis.
func Check(r raw, c Context, source string) Analysis {
	known := map[string]bool{}
	for id := range c.Lines {
		known[id] = true
	}
	for _, t := range c.Tickets {
		known[t.ID] = true
	}
	a := Analysis{Source: source, Summary: clean(r.Summary, 1000), RootCause: clean(r.RootCause, 1000), Category: clean(r.Category, 60),
		Confidence: r.Confidence, InsufficientEvidence: r.InsufficientEvidence}
	if a.Confidence < 0 || a.Confidence > 1 {
		a.Dropped = append(a.Dropped, "confidence outside 0–1 (set to 0)")
		a.Confidence = 0
	}
	distinct := map[string]bool{}
	evidence := r.Evidence
	if len(evidence) > maxEvidence {
		a.Dropped = append(a.Dropped, fmt.Sprintf("%d evidence items beyond the first %d ignored", len(evidence)-maxEvidence, maxEvidence))
		evidence = evidence[:maxEvidence]
	}
	for _, e := range evidence {
		if len(e.Citations) > maxCitations {
			a.Dropped = append(a.Dropped, fmt.Sprintf("a claim's citations beyond the first %d ignored", maxCitations))
			e.Citations = e.Citations[:maxCitations]
		}
		var cites []string
		var bad []string
		seen := map[string]bool{}
		for _, id := range e.Citations {
			id = strings.TrimSpace(id)
			if seen[id] {
				continue // a repeated citation is one citation
			}
			seen[id] = true
			if known[id] {
				cites = append(cites, id)
			} else {
				bad = append(bad, id)
			}
		}
		claim := clean(e.Claim, 500)
		switch {
		case len(cites) == 0 && len(bad) == 0:
			a.Dropped = append(a.Dropped, "claim without a citation: "+clip(claim))
			continue
		case len(cites) == 0:
			a.Dropped = append(a.Dropped, "claim citing ids not in the context ("+strings.Join(bad, ", ")+"): "+clip(claim))
			continue
		case len(bad) > 0:
			a.Dropped = append(a.Dropped, "citations not in the context removed: "+strings.Join(bad, ", "))
		}
		a.Evidence = append(a.Evidence, Evidence{Claim: claim, Citations: cites})
		for _, id := range cites {
			distinct[id] = true
		}
	}
	proposed := r.ProposedActions
	if len(proposed) > maxActions {
		a.Dropped = append(a.Dropped, fmt.Sprintf("%d proposed actions beyond the first %d ignored", len(proposed)-maxActions, maxActions))
		proposed = proposed[:maxActions]
	}
	for _, p := range proposed {
		if len(p.Params) > maxParams {
			a.Dropped = append(a.Dropped, fmt.Sprintf("action %s dropped: more than %d parameters", clip(clean(p.ActionID, 80)), maxParams))
			continue
		}
		act := Action{ID: clean(p.ActionID, 80), Params: p.Params, Follows: clean(p.FollowsTicket, 80), Reason: clean(p.Reason, 300)}
		if act.Follows != "" && !known[act.Follows] {
			a.Dropped = append(a.Dropped, "action "+act.ID+" cites a ticket not in the context: "+act.Follows)
			act.Follows = ""
		}
		why := "no action catalog is configured"
		if c.Catalog != nil {
			why = c.Catalog.Validate(act.ID, act.Params)
		}
		if why != "" {
			a.Dropped = append(a.Dropped, fmt.Sprintf("action %s %s dropped: %s", clip(act.ID), clip(fmt.Sprint(act.Params)), why))
			continue
		}
		a.Actions = append(a.Actions, act)
	}
	if dropped := len(r.Evidence) - len(a.Evidence); dropped > 0 {
		// A model that invented part of its evidence earns less trust in the rest.
		a.Confidence *= float64(len(a.Evidence)) / float64(len(r.Evidence))
	}
	if len(a.Dropped) > maxDropped {
		n := len(a.Dropped) - maxDropped
		a.Dropped = append(a.Dropped[:maxDropped:maxDropped], fmt.Sprintf("…and %d more notes", n))
	}
	valid := len(distinct) // distinct ids across the analysis
	if a.InsufficientEvidence || valid == 0 {
		a.InsufficientEvidence = true
		a.Confidence = min(a.Confidence, 0.2)
	} else if valid < minCitations {
		a.Hypothesis = true
		a.Confidence = min(a.Confidence, 0.4)
	}
	return a
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

package server

import (
	"context"
	"sync"
	"time"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/clicks"
	"github.com/opsgate/opsgate/bot/jobs"
)

// Auditor records refused requests (declared here, where it is used).
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// refusedBudget bounds how many refused requests per minute are written
// to the audit trail: forged requests cost an attacker nothing, and the
// chain must not be flooded (the rest are counted in the metrics).
const refusedBudget = 60

type budget struct {
	mu     sync.Mutex
	window time.Time
	used   int
}

func (b *budget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(b.window) {
		b.window, b.used = w, 0
	}
	if b.used >= refusedBudget {
		return false
	}
	b.used++
	return true
}

// auditRefusedDecision records a refused Approve / Reject / Undo click in
// the audit trail. Only authenticated requests (a valid signature: a
// replay, another workspace) come here — unauthenticated ones are only
// counted, so forged requests cannot spend the budget or flood the trail;
// the budget bounds a real but misbehaving Slack app.
func (s *Server) auditRefusedDecision(ctx context.Context, body []byte, reason string) {
	if s.Audit == nil {
		return
	}
	cb, err := parseInteraction(body)
	if err != nil {
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		id, _, ok := clicks.DecisionButton(a)
		if !ok {
			continue
		}
		if !s.refused.take(s.Now()) {
			s.Metrics.SlackReqs.WithLabelValues("interactions", "refused_unaudited").Inc()
			return
		}
		user := cb.User.ID // signed by Slack, yet kept only if it looks like a Slack user id
		if !catalog.ValidUserID(user) {
			user = "invalid-user-id"
		}
		inc, _ := jobs.ParseProposalID(id)
		if _, err := s.Audit.Append(ctx, audit.Entry{Actor: user, Action: "decision_refused", Incident: inc,
			Details: map[string]string{"proposal": id, "button": a.ActionID, "reason": reason}}); err != nil {
			s.Log.Warn("could not audit a refused click", "err", err)
		}
		return
	}
}

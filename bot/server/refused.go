package server

import (
	"context"
	"sync"
	"time"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/catalog"
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

// auditRefusedDecision records a refused Approve / Reject / Undo click
// (forged signature, stale timestamp, replay) in the audit trail. The
// user id is what the request claims: it is marked verified only for a
// replay, whose signature was valid.
func (s *Server) auditRefusedDecision(ctx context.Context, body []byte, reason string, verified bool) {
	if s.Audit == nil {
		return
	}
	cb, err := parseInteraction(body)
	if err != nil {
		return
	}
	for _, a := range cb.ActionCallback.BlockActions {
		id, _, ok := decisionButton(a)
		if !ok {
			continue
		}
		if !s.refused.take(s.Now()) {
			s.Metrics.SlackReqs.WithLabelValues("interactions", "refused_unaudited").Inc()
			return
		}
		user := cb.User.ID // claimed, not verified: kept only if it looks like a Slack user id
		if !catalog.ValidUserID(user) {
			user = "invalid-user-id"
		}
		inc, _ := jobs.ParseProposalID(id)
		v := "false"
		if verified {
			v = "true"
		}
		if _, err := s.Audit.Append(ctx, audit.Entry{Actor: user, Action: "decision_refused", Incident: inc,
			Details: map[string]string{"proposal": id, "button": a.ActionID, "reason": reason, "user_verified": v}}); err != nil {
			s.Log.Warn("could not audit a refused click", "err", err)
		}
		return
	}
}

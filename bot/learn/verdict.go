// Package learn closes the loop: responders' 👍/👎 on an analysis, and the
// write-back of a resolved incident (masked, with its verdicts) to the
// knowledge base, so the next similar incident finds it.
package learn

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/jobs"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// VerdictTTL keeps verdicts as long as the learning loop may need them.
const VerdictTTL = 90 * 24 * time.Hour

// VerdictKey holds user id → "up" | "down" for an incident's analysis.
func VerdictKey(id string) string { return "opsgate:rca:verdict:" + id }

// Responder answers through a response_url (guarded).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m slackapi.Message) error
}

// Verdicts records responders' verdicts on analyses.
type Verdicts struct {
	Redis     redis.Cmdable
	Responder Responder // nil: the clicker is not answered
	Log       *slog.Logger
}

// Handle records one vote per user (a second click replaces the first;
// double clicks change nothing) and answers the clicker.
func (v *Verdicts) Handle(ctx context.Context, req jobs.Verdict) error {
	vote := "down"
	if req.Up {
		vote = "up"
	}
	key := VerdictKey(req.IncidentID)
	pipe := v.Redis.TxPipeline()
	pipe.HSet(ctx, key, req.UserID, vote)
	pipe.Expire(ctx, key, VerdictTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record verdict: %w", err)
	}
	up, down, err := v.Count(ctx, req.IncidentID)
	if err != nil {
		return err
	}
	if v.Responder != nil && req.ResponseURL != "" {
		mark := ":+1:"
		if !req.Up {
			mark = ":-1:"
		}
		msg := slackapi.Message{Text: fmt.Sprintf("Recorded your %s on the analysis of %s (%d :+1:, %d :-1:). It goes into the knowledge base when the incident resolves.", mark, req.IncidentID, up, down)}
		if err := v.Responder.Respond(ctx, req.ResponseURL, msg); err != nil {
			cmp.Or(v.Log, slog.Default()).Warn("could not answer a verdict", "incident", req.IncidentID, "err", err)
		}
	}
	return nil
}

// Count returns the incident's 👍 and 👎.
func (v *Verdicts) Count(ctx context.Context, id string) (up, down int, err error) {
	m, err := v.Redis.HGetAll(ctx, VerdictKey(id)).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("read verdicts: %w", err)
	}
	for _, x := range m {
		if x == "up" {
			up++
		} else {
			down++
		}
	}
	return up, down, nil
}

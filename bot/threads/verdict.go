package threads

import (
	"context"
	"fmt"
	"time"

	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

// KindVerdict is a responder's 👍/👎 on an incident's root-cause analysis.
const KindVerdict = "verdict" // payload: VerdictRequest

// VerdictRequest is queued by a click on the RCA reply's buttons.
type VerdictRequest struct {
	IncidentID  string `json:"incident_id"`
	UserID      string `json:"user_id"`
	Up          bool   `json:"up"`
	ResponseURL string `json:"response_url"`
}

// VerdictTTL keeps verdicts as long as the learning loop may need them.
const VerdictTTL = 90 * 24 * time.Hour

// VerdictKey holds user id → "up" | "down" for an incident's analysis.
func VerdictKey(id string) string { return "opsgate:rca:verdict:" + id }

// handleVerdict records one vote per user (a second click replaces the
// first; double clicks change nothing) and answers the clicker.
func (s *Syncer) handleVerdict(ctx context.Context, req VerdictRequest) error {
	v := "down"
	if req.Up {
		v = "up"
	}
	key := VerdictKey(req.IncidentID)
	pipe := s.Redis.TxPipeline()
	pipe.HSet(ctx, key, req.UserID, v)
	pipe.Expire(ctx, key, VerdictTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record verdict: %w", err)
	}
	up, down, err := s.verdicts(ctx, req.IncidentID)
	if err != nil {
		return err
	}
	if s.Responder != nil && req.ResponseURL != "" {
		mark := ":+1:"
		if !req.Up {
			mark = ":-1:"
		}
		msg := slackapi.Message{Text: fmt.Sprintf("Recorded your %s on the analysis of %s (%d :+1:, %d :-1:). It goes into the knowledge base when the incident resolves.", mark, req.IncidentID, up, down)}
		if err := s.Responder.Respond(ctx, req.ResponseURL, msg); err != nil {
			s.log().Warn("could not answer a verdict", "incident", req.IncidentID, "err", err)
		}
	}
	return nil
}

func (s *Syncer) verdicts(ctx context.Context, id string) (up, down int, err error) {
	m, err := s.Redis.HGetAll(ctx, VerdictKey(id)).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("read verdicts: %w", err)
	}
	for _, v := range m {
		if v == "up" {
			up++
		} else {
			down++
		}
	}
	return up, down, nil
}

package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/slack-go/slack"
)

// Respond answers a slash command or interaction through its response_url
// (ephemeral, at most 5 times within 30 minutes per Slack).
func (c *Client) Respond(ctx context.Context, responseURL string, m Message) error {
	body := map[string]any{"response_type": "ephemeral", "text": m.Text, "replace_original": false}
	if len(m.Blocks) > 0 {
		body["blocks"] = m.Blocks
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("slack response_url: %w", err)
	}
	return c.call(ctx, "response_url", "", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("bad response_url")
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
		}
		return slack.SlackErrorResponse{Err: fmt.Sprintf("response_url answered %d", resp.StatusCode)}
	})
}

// Teller shows messages to one user.
type Teller interface {
	PostEphemeral(ctx context.Context, channel, user string, m Message) error
	Respond(ctx context.Context, responseURL string, m Message) error
}

// Tell shows m to user only: ephemeral in channel, or through responseURL
// when the bot cannot post there (or no channel is known).
func Tell(ctx context.Context, t Teller, channel, user, responseURL string, m Message) error {
	var err error
	if channel != "" {
		if err = t.PostEphemeral(ctx, channel, user, m); err == nil {
			return nil
		}
	}
	if responseURL != "" {
		err = t.Respond(ctx, responseURL, m)
	}
	return err
}

// Package slack wraps slack-go with what opsgate needs from Slack's Web API:
// posting, editing and finding messages, with 429 Retry-After and 5xx
// handled by retry.Do, and errors classified as retryable or final.
package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/retry"
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// ErrFinal marks Slack errors that another try cannot fix (channel_not_found,
// invalid_blocks, invalid_auth, ...). Callers branch with errors.Is.
var ErrFinal = errors.New("slack: final error")

// Message is what opsgate sends: fallback text plus optional blocks.
type Message struct {
	Text     string
	Blocks   []slack.Block
	ThreadTS string
	Metadata *slack.SlackMetadata
}

func (m Message) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionDisableLinkUnfurl()}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	if m.Metadata != nil {
		opts = append(opts, slack.MsgOptionMetadata(*m.Metadata))
	}
	return opts
}

// Client talks to Slack.
type Client struct {
	api    *slack.Client
	hc     *http.Client
	policy retry.Policy
	// Observe, when set, is told each call's method and outcome ("ok",
	// "rate_limited", "server_error", "error").
	Observe func(method, outcome string)
	// Gate, when set, shares rate limits with every other caller: each
	// attempt waits for it, and a 429 holds the method for everyone.
	Gate Gate
}

// Gate is a rate limit shared across callers and replicas (a
// *ratelimit.Gate).
type Gate interface {
	// Wait blocks until a call of method to channel ("" = none) may go
	// out; a hold ending by seen was already waited out by this caller.
	Wait(ctx context.Context, method, channel string, seen time.Time) error
	// Hold makes every caller of method wait d, and says when that ends.
	Hold(ctx context.Context, method string, d time.Duration) (time.Time, error)
}

// New makes a client for apiURL ("" = Slack) with the bot token.
func New(apiURL, token string, hc *http.Client, policy retry.Policy) *Client {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if policy.Attempts == 0 {
		policy = retry.Policy{Attempts: 6, Base: time.Second, Max: 10 * time.Second, Budget: 30 * time.Second, Jitter: true}
	}
	return &Client{api: slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(hc)), hc: hc, policy: policy}
}

// Classify says whether a slack-go error is worth retrying and how long
// Slack asked us to wait: 429 (with its Retry-After), 5xx, network errors
// and Slack's own transient codes are; every other ok:false answer
// (channel_not_found, invalid_blocks, invalid_auth, ...) is final.
func Classify(err error) retry.Verdict {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return retry.Verdict{Retry: true, After: rl.RetryAfter}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return retry.Verdict{Retry: sc.Code == http.StatusTooManyRequests || sc.Code >= 500}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return retry.Verdict{Retry: true}
		}
		return retry.Verdict{Retry: false}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return retry.Verdict{Retry: true}
	}
	return retry.Verdict{Retry: false}
}

func outcome(err error) string {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.As(err, &sc) && sc.Code >= 500:
		return "server_error"
	}
	return "error"
}

func (c *Client) call(ctx context.Context, method, channel string, fn func(ctx context.Context) error) error {
	var seen time.Time // the end of a hold this call has already waited out (retry.Do slept its Retry-After)
	classify := Classify
	if ctx.Value(noRepeatKey{}) != nil {
		classify = onlyRateLimits
	}
	err := retry.Do(ctx, c.policy, classify, func(ctx context.Context) error {
		if c.Gate != nil {
			if err := c.Gate.Wait(ctx, method, channel, seen); err != nil {
				return err
			}
		}
		err := fn(ctx)
		if c.Observe != nil {
			c.Observe(method, outcome(err))
		}
		var rl *slack.RateLimitedError
		if c.Gate != nil && errors.As(err, &rl) {
			seen, _ = c.Gate.Hold(ctx, method, rl.RetryAfter)
		}
		return err
	})
	if err == nil {
		return nil
	}
	if !Classify(err).Retry && !errors.Is(err, retry.ErrBudgetExhausted) {
		return fmt.Errorf("slack %s: %w: %w", method, ErrFinal, err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

type noRepeatKey struct{}

// NoRepeat marks ctx so that a post is retried in the call only after a
// 429 (Slack did not post it). After a timeout or a 5xx the message may
// have been posted: the error is returned (still retryable) for the
// caller to look for it before posting again.
func NoRepeat(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRepeatKey{}, true)
}

func onlyRateLimits(err error) retry.Verdict {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return Classify(err)
	}
	return retry.Verdict{Retry: false}
}

// PostMessage posts to channel (in a thread when m.ThreadTS is set) and
// returns the channel id and ts Slack assigned.
func (c *Client) PostMessage(ctx context.Context, channel string, m Message) (string, string, error) {
	var ch, ts string
	err := c.call(ctx, "chat.postMessage", channel, func(ctx context.Context) error {
		var err error
		ch, ts, err = c.api.PostMessageContext(ctx, channel, m.options()...)
		return err
	})
	return ch, ts, err
}

// UpdateMessage edits the message at ts in place.
func (c *Client) UpdateMessage(ctx context.Context, channel, ts string, m Message) error {
	m.ThreadTS = ""
	return c.call(ctx, "chat.update", channel, func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, m.options()...)
		return err
	})
}

// PostEphemeral shows a message to one user in channel.
func (c *Client) PostEphemeral(ctx context.Context, channel, user string, m Message) error {
	return c.call(ctx, "chat.postEphemeral", channel, func(ctx context.Context) error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, m.options()...)
		return err
	})
}

// Permalink returns the link to a message.
func (c *Client) Permalink(ctx context.Context, channel, ts string) (string, error) {
	var link string
	err := c.call(ctx, "chat.getPermalink", "", func(ctx context.Context) error {
		var err error
		link, err = c.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	return link, err
}

// FindByMetadata looks through the channel's messages since oldest for one
// the bot posted with metadata event type eventType and payload key = value.
// It is how a thread posted just before a crash is found again instead of
// being posted twice.
func (c *Client) FindByMetadata(ctx context.Context, channel, eventType, key, value string, oldest time.Time) (string, bool, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channel, Limit: 200, IncludeAllMetadata: true,
		Oldest: fmt.Sprintf("%d.000000", oldest.Unix()),
	}
	for page := 0; page < 10; page++ {
		var resp *slack.GetConversationHistoryResponse
		err := c.call(ctx, "conversations.history", "", func(ctx context.Context) error {
			var err error
			resp, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == eventType {
				if v, ok := m.Metadata.EventPayload[key].(string); ok && v == value {
					return m.Timestamp, true, nil
				}
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// FindReply looks through a thread's replies for one the bot posted with
// metadata event type eventType whose payload holds every key = value of
// match. It is how a reply posted just before a crash is found again
// instead of being posted twice.
func (c *Client) FindReply(ctx context.Context, channel, threadTS, eventType string, match map[string]string) (string, bool, error) {
	params := &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: threadTS, Limit: 200, IncludeAllMetadata: true}
	for page := 0; page < 10; page++ {
		var msgs []slack.Message
		var hasMore bool
		var cursor string
		err := c.call(ctx, "conversations.replies", "", func(ctx context.Context) error {
			var err error
			msgs, hasMore, cursor, err = c.api.GetConversationRepliesContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range msgs {
			if m.Metadata.EventType == eventType && payloadHas(m.Metadata.EventPayload, match) {
				return m.Timestamp, true, nil
			}
		}
		if !hasMore || cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	return "", false, nil
}

func payloadHas(payload map[string]any, match map[string]string) bool {
	for k, want := range match {
		if v, ok := payload[k].(string); !ok || v != want {
			return false
		}
	}
	return true
}

// Upload shares a file in a thread with Slack's upload flow (files v2:
// files.getUploadURLExternal, the bytes to the upload URL,
// files.completeUploadExternal with channel_id and thread_ts). The three
// steps are one call: a retry starts over with a new upload.
func (c *Client) Upload(ctx context.Context, channel, threadTS, filename, title, comment string, content []byte) error {
	return c.call(ctx, "files.upload.v2", channel, func(ctx context.Context) error {
		_, err := c.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: filename, FileSize: len(content), Reader: bytes.NewReader(content), Title: title,
			InitialComment: comment, Channel: channel, ThreadTimestamp: threadTS,
		})
		return err
	})
}

// File is one file to share, with the alt text Slack shows and reads out
// for it.
type File struct {
	Name, Title, AltText string
	Content              []byte
}

// UploadFiles shares files as one message in a thread with Slack's upload
// flow: files.getUploadURLExternal and an upload per file, then one
// files.completeUploadExternal naming the channel and thread.
func (c *Client) UploadFiles(ctx context.Context, channel, threadTS, comment string, files []File) error {
	if len(files) == 0 || len(files) > 10 {
		return fmt.Errorf("slack upload: %d files (1 to 10 per message)", len(files))
	}
	var done []slack.FileSummary
	for _, f := range files {
		var id string
		if err := c.call(ctx, "files.getUploadURLExternal", channel, func(ctx context.Context) error {
			r, err := c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: f.Name, FileSize: len(f.Content), AltTxt: f.AltText})
			if err != nil {
				return err
			}
			id = r.FileID
			return c.api.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: r.UploadURL, Filename: f.Name, Reader: bytes.NewReader(f.Content)})
		}); err != nil {
			return err
		}
		done = append(done, slack.FileSummary{ID: id, Title: f.Title})
	}
	// Completing shares the files as a message: at most once (a
	// timed-out completion may have posted).
	err := c.call(NoRepeat(ctx), "files.completeUploadExternal", channel, func(ctx context.Context) error {
		_, err := c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: done, Channel: channel,
			ThreadTimestamp: threadTS, InitialComment: comment})
		return err
	})
	if err != nil && !errors.Is(err, ErrFinal) {
		return fmt.Errorf("%w: %w", ErrMaybeShared, err)
	}
	return err
}

// ErrMaybeShared: the files' completion failed in a way that may have
// shared them anyway (a timeout, a 5xx); trying again could post twice.
var ErrMaybeShared = errors.New("slack: the files may have been shared")

// PublishHome sets a user's App Home tab (views.publish).
func (c *Client) PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error {
	return c.call(ctx, "views.publish", "", func(ctx context.Context) error {
		_, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: v})
		return err
	})
}

// View names an open modal: its id and the hash views.update must name
// (Slack changes it on every update, so a stale update is refused).
type View struct{ ID, Hash string }

// OpenView opens a modal for the user whose interaction carried
// triggerID (views.open; Slack accepts a trigger once, within 3 s, so this
// is not retried past that).
func (c *Client) OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (View, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var out View
	err := c.call(ctx, "views.open", "", func(ctx context.Context) error {
		r, err := c.api.OpenViewContext(ctx, triggerID, v)
		if err == nil && r != nil {
			out = View{ID: r.ID, Hash: r.Hash}
		}
		return err
	})
	return out, err
}

// UpdateView replaces an open modal (views.update) if it is still as
// hash says; Slack refuses a stale hash (hash_conflict) and a closed view.
func (c *Client) UpdateView(ctx context.Context, view View, v slack.ModalViewRequest) (View, error) {
	var out View
	err := c.call(ctx, "views.update", "", func(ctx context.Context) error {
		r, err := c.api.UpdateViewContext(ctx, v, "", view.Hash, view.ID)
		if err == nil && r != nil {
			out = View{ID: r.ID, Hash: r.Hash}
		}
		return err
	})
	return out, err
}

// UserEmail is the e-mail address on a user's Slack profile (needs the
// users:read.email scope); "" when the profile shows none.
func (c *Client) UserEmail(ctx context.Context, user string) (string, error) {
	var email string
	err := c.call(ctx, "users.info", "", func(ctx context.Context) error {
		u, err := c.api.GetUserInfoContext(ctx, user)
		if err == nil {
			email = u.Profile.Email
		}
		return err
	})
	return email, err
}

// UserGroupMembers lists a user group's members (usergroups.users.list).
func (c *Client) UserGroupMembers(ctx context.Context, group string) ([]string, error) {
	var members []string
	err := c.call(ctx, "usergroups.users.list", "", func(ctx context.Context) error {
		var err error
		members, err = c.api.GetUserGroupMembersContext(ctx, group)
		return err
	})
	return members, err
}

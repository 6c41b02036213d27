package slack_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
	slackapi "github.com/opsgate/opsgate/integrations/slack"
)

const token = "xoxb-client-test-token"

type waits struct{ d []time.Duration }

func (w *waits) sleep(_ context.Context, d time.Duration) error { w.d = append(w.d, d); return nil }

func client(t *testing.T, tok string) (*slackapi.Client, *fakeslack.Server, *waits) {
	t.Helper()
	fs := fakeslack.New(token, map[string]string{"C0TEST": "test"})
	t.Cleanup(fs.Close)
	fs.AddUser("U1", "u1")
	w := &waits{}
	return slackapi.New(fs.APIURL(), tok, nil, retry.Policy{Attempts: 4, Base: time.Second, Budget: time.Minute, Sleep: w.sleep}), fs, w
}

func TestClassifyTable(t *testing.T) {
	cases := []struct {
		err   error
		retry bool
		after time.Duration
	}{
		{&slack.RateLimitedError{RetryAfter: 3 * time.Second}, true, 3 * time.Second},
		{slack.StatusCodeError{Code: 429}, true, 0},
		{slack.StatusCodeError{Code: 500}, true, 0},
		{slack.StatusCodeError{Code: 502}, true, 0},
		{slack.StatusCodeError{Code: 503}, true, 0},
		{slack.StatusCodeError{Code: 504}, true, 0},
		{slack.StatusCodeError{Code: 400}, false, 0},
		{slack.StatusCodeError{Code: 403}, false, 0},
		{slack.StatusCodeError{Code: 404}, false, 0},
		{slack.SlackErrorResponse{Err: "ratelimited"}, true, 0},
		{slack.SlackErrorResponse{Err: "internal_error"}, true, 0},
		{slack.SlackErrorResponse{Err: "service_unavailable"}, true, 0},
		{slack.SlackErrorResponse{Err: "channel_not_found"}, false, 0},
		{slack.SlackErrorResponse{Err: "invalid_blocks"}, false, 0},
		{slack.SlackErrorResponse{Err: "invalid_auth"}, false, 0},
		{slack.SlackErrorResponse{Err: "something_new"}, false, 0},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true, 0},
		{fmt.Errorf("wrapped: %w", slack.StatusCodeError{Code: 500}), true, 0},
		{errors.New("json: cannot unmarshal"), false, 0},
	}
	for _, c := range cases {
		v := slackapi.Classify(c.err)
		if v.Retry != c.retry || v.After != c.after {
			t.Errorf("Classify(%v) = %+v, want retry=%v after=%s", c.err, v, c.retry, c.after)
		}
	}
}

func TestPostUpdateAndErrors(t *testing.T) {
	c, fs, w := client(t, token)
	ctx := context.Background()
	fs.FailNext("chat.postMessage", 2, http.StatusTooManyRequests, 2)
	ch, ts, err := c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "hi", Blocks: []slack.Block{slack.NewDividerBlock()}})
	if err != nil || ch != "C0TEST" || ts == "" {
		t.Fatalf("post: %s %s %v", ch, ts, err)
	}
	if len(w.d) != 2 || w.d[0] != 2*time.Second {
		t.Fatalf("waits = %v, want Retry-After honoured twice", w.d)
	}
	if err := c.UpdateMessage(ctx, "C0TEST", ts, slackapi.Message{Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	if m := fs.Messages("C0TEST"); len(m) != 1 || m[0].Text != "edited" || m[0].Edits != 1 {
		t.Fatalf("messages = %+v", m)
	}
	err = c.UpdateMessage(ctx, "C0TEST", "123.456", slackapi.Message{Text: "x"})
	if !errors.Is(err, slackapi.ErrFinal) || !strings.Contains(err.Error(), "message_not_found") {
		t.Fatalf("update unknown ts: %v", err)
	}
	_, _, err = c.PostMessage(ctx, "C0NOPE", slackapi.Message{Text: "x"})
	if !errors.Is(err, slackapi.ErrFinal) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("unknown channel: %v", err)
	}
	// 51 blocks is over Block Kit's limit: the fake refuses like Slack.
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	_, _, err = c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "x", Blocks: many})
	if !errors.Is(err, slackapi.ErrFinal) || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Fatalf("51 blocks: %v", err)
	}
	link, err := c.Permalink(ctx, "C0TEST", ts)
	if err != nil || !strings.Contains(link, "/archives/C0TEST/p") {
		t.Fatalf("permalink: %s %v", link, err)
	}
}

func TestBadTokenIsFinalAndNotLeaked(t *testing.T) {
	c, fs, w := client(t, "xoxb-wrong-secret-token")
	_, _, err := c.PostMessage(context.Background(), "C0TEST", slackapi.Message{Text: "x"})
	if !errors.Is(err, slackapi.ErrFinal) || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "xoxb-wrong") || len(w.d) != 0 || fs.Calls("chat.postMessage") != 1 {
		t.Fatalf("leaked or retried: %v %v", err, w.d)
	}
}

func TestServerErrorsExhaustBudgetAsRetryable(t *testing.T) {
	c, fs, _ := client(t, token)
	fs.FailNext("chat.postMessage", 10, 503, 0)
	_, _, err := c.PostMessage(context.Background(), "C0TEST", slackapi.Message{Text: "x"})
	if err == nil || errors.Is(err, slackapi.ErrFinal) || !errors.Is(err, retry.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want retryable budget exhaustion", err)
	}
	if fs.Calls("chat.postMessage") != 4 {
		t.Fatalf("calls = %d", fs.Calls("chat.postMessage"))
	}
}

func TestFindByMetadataPages(t *testing.T) {
	c, _, _ := client(t, token)
	ctx := context.Background()
	var want string
	for i := 0; i < 450; i++ {
		m := slackapi.Message{Text: fmt.Sprint(i)}
		if i == 3 {
			m.Metadata = &slack.SlackMetadata{EventType: "opsgate_incident", EventPayload: map[string]any{"incident_id": "P42"}}
		}
		_, ts, err := c.PostMessage(ctx, "C0TEST", m)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			want = ts
		}
	}
	ts, ok, err := c.FindByMetadata(ctx, "C0TEST", "opsgate_incident", "incident_id", "P42", time.Now().Add(-time.Hour))
	if err != nil || !ok || ts != want {
		t.Fatalf("found %s %v %v, want %s", ts, ok, err, want)
	}
	if _, ok, _ := c.FindByMetadata(ctx, "C0TEST", "opsgate_incident", "incident_id", "P43", time.Now().Add(-time.Hour)); ok {
		t.Fatal("found a message that does not exist")
	}
}

func TestFindReplyPagesThroughTheThread(t *testing.T) {
	c, _, _ := client(t, token)
	ctx := context.Background()
	_, parent, err := c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for i := 0; i < 320; i++ {
		m := slackapi.Message{Text: fmt.Sprint(i), ThreadTS: parent}
		if i == 290 || i == 10 {
			m.Metadata = &slack.SlackMetadata{EventType: "opsgate_reply", EventPayload: map[string]any{"incident_id": "P42", "reply": fmt.Sprint("r", i)}}
		}
		_, ts, err := c.PostMessage(ctx, "C0TEST", m)
		if err != nil {
			t.Fatal(err)
		}
		if i == 290 {
			want = ts
		}
	}
	ts, ok, err := c.FindReply(ctx, "C0TEST", parent, "opsgate_reply", map[string]string{"incident_id": "P42", "reply": "r290"})
	if err != nil || !ok || ts != want {
		t.Fatalf("found %s %v %v, want %s", ts, ok, err, want)
	}
	if _, ok, _ := c.FindReply(ctx, "C0TEST", parent, "opsgate_reply", map[string]string{"incident_id": "P43", "reply": "r290"}); ok {
		t.Fatal("matched on one key of two")
	}
	if _, _, err := c.FindReply(ctx, "C0TEST", "1.000000", "opsgate_reply", nil); !errors.Is(err, slackapi.ErrFinal) {
		t.Fatalf("unknown thread: %v", err)
	}
}

func TestRespond(t *testing.T) {
	c, fs, _ := client(t, token)
	if err := c.Respond(context.Background(), fs.ResponseURL("abc"), slackapi.Message{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	p := fs.ResponseURLPosts()
	if len(p) != 1 || p[0].Body["text"] != "done" || p[0].Body["response_type"] != "ephemeral" {
		t.Fatalf("posts = %+v", p)
	}
	for i := 0; i < 4; i++ {
		_ = c.Respond(context.Background(), fs.ResponseURL("abc"), slackapi.Message{Text: "again"})
	}
	if err := c.Respond(context.Background(), fs.ResponseURL("abc"), slackapi.Message{Text: "sixth"}); !errors.Is(err, slackapi.ErrFinal) {
		t.Fatalf("sixth use of a response_url: %v", err)
	}
}

// The upload flow against the fake: the file lands in the thread with
// its bytes; an unknown thread is a final error.
func TestUploadSharesAFileInAThread(t *testing.T) {
	c, fs, _ := client(t, token)
	ctx := context.Background()
	_, parent, err := c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, "C0TEST", parent, "postmortem.md", "Postmortem draft", "draft", []byte("# hello\n")); err != nil {
		t.Fatal(err)
	}
	files := fs.Files()
	if len(files) != 1 || string(files[0].Content) != "# hello\n" || files[0].ThreadTS != parent || files[0].Title != "Postmortem draft" {
		t.Fatalf("files %+v", files)
	}
	if err := c.Upload(ctx, "C0TEST", "1.000000", "x.md", "x", "", []byte("x")); !errors.Is(err, slackapi.ErrFinal) {
		t.Fatalf("unknown thread: %v", err)
	}
}

// With NoRepeat a post is retried in the call after a 429 only: after a
// 5xx the message may exist, so the (retryable, not final) error goes back
// to the caller, who looks before posting again.
func TestNoRepeatRetriesOnlyRateLimits(t *testing.T) {
	c, fs, _ := client(t, token)
	ctx := slackapi.NoRepeat(context.Background())
	fs.FailNext("chat.postMessage", 1, 429, 1)
	if _, _, err := c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "a"}); err != nil {
		t.Fatalf("after a 429: %v", err)
	}
	fs.FailNext("chat.postMessage", 1, 503, 0)
	_, _, err := c.PostMessage(ctx, "C0TEST", slackapi.Message{Text: "b"})
	if err == nil || errors.Is(err, slackapi.ErrFinal) {
		t.Fatalf("after a 503: %v, want a retryable error", err)
	}
	if n := fs.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("%d calls, want 3 (429 + retry, one 503)", n)
	}
}

package testutil_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	slackapi "github.com/opsgate/opsgate/integrations/slack"
	"github.com/opsgate/opsgate/test/testutil"
)

func TestHelpers(t *testing.T) {
	log, buf := testutil.Logger()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); log.Info("line", "i", i) }()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "msg=line"); n != 8 {
		t.Fatalf("%d lines", n)
	}
	fs, c := testutil.Slack(t, map[string]string{"C1": "x"})
	if _, _, err := c.PostMessage(context.Background(), "C1", slackapi.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_, _, _ = c.PostMessage(context.Background(), "C1", slackapi.Message{Text: "two"})
		close(done)
	}()
	testutil.Eventually(t, "the second message", fs.Changed, func() bool { return len(fs.Messages("C1")) == 2 })
	<-done
}

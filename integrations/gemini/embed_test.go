package gemini_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/gemini"
)

func nosleep(context.Context, time.Duration) error { return nil }

func TestEmbedBatchesRetriesAndNormalises(t *testing.T) {
	fake := fakegemini.New("gm-key-123")
	t.Cleanup(fake.Close)
	e, err := gemini.NewEmbedder(context.Background(), "gm-key-123", fake.URL, nil, retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext("batchEmbedContents", 2, 429, 0)
	texts := make([]string, 150)
	for i := range texts {
		texts[i] = "database connection refused"
	}
	texts[149] = "certificate expired on the edge"
	vs, err := e.Embed(context.Background(), texts, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 150 || len(vs[0]) != gemini.Dimensions {
		t.Fatalf("%d vectors of %d", len(vs), len(vs[0]))
	}
	var n, dot float64
	for i, x := range vs[0] {
		n += float64(x * x)
		dot += float64(x * vs[149][i])
	}
	if n < 0.99 || n > 1.01 || dot > 0.5 {
		t.Fatalf("norm %.3f, unrelated dot %.3f", n, dot)
	}
	if req, txt := fake.Requests(); req != 4 || txt != 150 { // 2 failures + 2 batches
		t.Fatalf("requests %d texts %d", req, txt)
	}
}

func TestEmbedBadKeyIsFinalAndSecretFree(t *testing.T) {
	fake := fakegemini.New("right")
	t.Cleanup(fake.Close)
	e, _ := gemini.NewEmbedder(context.Background(), "wrong-secret-key", fake.URL, nil, retry.Policy{Attempts: 3, Base: time.Millisecond, Sleep: nosleep})
	_, err := e.Embed(context.Background(), []string{"x"}, true)
	if err == nil || errors.Is(err, retry.ErrBudgetExhausted) || strings.Contains(err.Error(), "wrong-secret-key") {
		t.Fatalf("err = %v", err)
	}
	if req, _ := fake.Requests(); req != 1 {
		t.Fatalf("a 403 was retried: %d requests", req)
	}
}

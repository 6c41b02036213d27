package kb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/integrations/fakes/fakegemini"
	"github.com/opsgate/opsgate/integrations/gemini"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestKBStoreSearchUpdateAndReplicaSync(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	store := kb.NewStore(srv.Client())
	a, err := kb.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kb.Open(ctx, store) // a second replica
	err = a.Add(ctx,
		kb.Ticket{ID: "INC-4092", Title: "checkout-api 5xx: connection refused to db-primary", Body: "HikariPool exhausted, PSQLException Connection refused",
			Resolution: "Failed over to the replica and raised max_connections\nmore text", Created: time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC), URL: "https://tickets.example.com/INC-4092"},
		kb.Ticket{ID: "INC-5000", Title: "CDN certificate expired", Body: "TLS handshake failures on edge"},
	)
	if err != nil {
		t.Fatal(err)
	}
	res := a.Search(kb.Query{Title: "connection refused to database", Body: "PSQLException Connection refused from checkout"}, 5)
	if len(res) == 0 || res[0].ID != "INC-4092" || res[0].Resolution != "Failed over to the replica and raised max_connections" || res[0].Similarity <= 0 || res[0].Similarity > 1 {
		t.Fatalf("results = %+v", res)
	}
	// Replica b learns about the tickets through the change stream.
	if n, err := b.Sync(ctx); err != nil || n != 2 {
		t.Fatalf("sync: %d %v", n, err)
	}
	if r := b.Search(kb.Query{Title: "certificate expired"}, 1); len(r) != 1 || r[0].ID != "INC-5000" {
		t.Fatalf("replica search = %+v", r)
	}
	// Re-ingesting an id updates it.
	if err := a.Add(ctx, kb.Ticket{ID: "INC-5000", Title: "CDN certificate expired (renewal job broken)", Body: "cron renewal failed"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.Count(ctx); n != 2 {
		t.Fatalf("count = %d after update", n)
	}
	if st := a.Stats(); st.Tickets != 2 {
		t.Fatalf("stats = %+v", st)
	}
	b.Sync(ctx)
	if r := b.Search(kb.Query{Title: "renewal job broken"}, 5); len(r) != 1 || !strings.Contains(r[0].Title, "renewal") {
		t.Fatalf("replica did not pick up the update: %+v", r)
	}
	// A fresh replica built from Redis sees the same.
	c, _ := kb.Open(ctx, store)
	if c.Stats().Tickets != 2 {
		t.Fatalf("fresh replica: %+v", c.Stats())
	}
	if err := a.Add(ctx, kb.Ticket{ID: "bad id with spaces", Title: "x"}); err == nil {
		t.Fatal("invalid id accepted")
	}
}

func TestHybridSearchWithEmbeddings(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	fake := fakegemini.New("gm-key")
	t.Cleanup(fake.Close)
	emb, err := gemini.NewEmbedder(ctx, "gm-key", fake.URL, nil, retry.Policy{Attempts: 2, Base: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	store := kb.NewStore(srv.Client())
	a, _ := kb.Open(ctx, store)
	a.SetEmbedder(emb)
	if err := a.Add(ctx,
		kb.Ticket{ID: "A", Title: "payments queue backlog", Body: "consumer lag grows after deploy"},
		kb.Ticket{ID: "B", Title: "certificate expired", Body: "tls handshake failures at the edge"},
	); err != nil {
		t.Fatal(err)
	}
	if v := srv.Client().Exists(ctx, kb.VectorKey("A")).Val(); v != 1 {
		t.Fatal("embedding not stored next to the ticket")
	}
	if r := a.Search(kb.Query{Title: "consumer lag after deploy"}, 2); len(r) == 0 || r[0].ID != "A" || r[0].Similarity <= 0 {
		t.Fatalf("hybrid results = %+v", r)
	}
	// A fresh replica loads the vectors; with Gemini failing it falls back to lexical search.
	b, _ := kb.Open(ctx, store)
	b.SetEmbedder(emb)
	if st := b.Stats(); st.Embeddings != 2 {
		t.Fatalf("stats = %+v", st)
	}
	fake.FailNext("batchEmbedContents", 10, 503, 0)
	if r := b.Search(kb.Query{Title: "certificate expired"}, 1); len(r) != 1 || r[0].ID != "B" {
		t.Fatalf("fallback results = %+v", r)
	}
	// Ingest still succeeds without embeddings.
	fake.FailNext("batchEmbedContents", 10, 503, 0)
	if err := b.Add(ctx, kb.Ticket{ID: "C", Title: "disk full"}); err != nil {
		t.Fatalf("ingest failed with Gemini down: %v", err)
	}
}

package storm_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsgate/opsgate/bot/storm"
	"github.com/opsgate/opsgate/test/redistest"
)

func TestTemplatesMaskWhatDiffersBetweenOneCausesIncidents(t *testing.T) {
	same := [][2]string{
		{"Disk 91% full on db-3", "disk 97% full on db-7"},
		{"Checkout API 5xx rate above 5%", "Checkout API 5xx rate above 12%"},
		{"pod checkout-7f9c6d-x2x9z CrashLoopBackOff", "pod checkout-55bd8f-k2q8w CrashLoopBackOff"},
		{`Job "nightly-export" failed (exit 137)`, `Job "daily-sync" failed (exit 1)`},
		{"Latency p99 1.2s > 500ms on 10.0.3.4:8080", "Latency p99 3s > 500ms on 10.0.9.9:8080"},
		{"Build a1b2c3d4e5 broke", "build ffee0011aa broke"},
	}
	for _, c := range same {
		if storm.Template(c[0]) != storm.Template(c[1]) {
			t.Errorf("%q → %q, %q → %q: want one template", c[0], storm.Template(c[0]), c[1], storm.Template(c[1]))
		}
		if storm.Signature("PSVC1", c[0]) != storm.Signature("PSVC1", c[1]) {
			t.Errorf("%q and %q: want one signature", c[0], c[1])
		}
		if storm.Signature("PSVC1", c[0]) == storm.Signature("PSVC2", c[1]) {
			t.Errorf("another service shares the signature")
		}
	}
	differ := [][2]string{
		{"Disk full on db-3", "Memory full on db-3"},
		{"Checkout API 5xx rate above 5%", "Checkout API latency above 5s"},
		{"Certificate expires soon", "Certificate expired"},
	}
	for _, c := range differ {
		if storm.Signature("PSVC1", c[0]) == storm.Signature("PSVC1", c[1]) {
			t.Errorf("%q and %q grouped", c[0], c[1])
		}
	}
}

func TestOneLeaderPerStormWhateverTheRace(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client()
	ctx := context.Background()
	a, b := &storm.Grouper{Redis: rdb}, &storm.Grouper{Redis: rdb} // two replicas
	leaders := make([]string, 60)
	var wg sync.WaitGroup
	for i := range leaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := a
			if i%2 == 1 {
				g = b
			}
			l, err := g.Join(ctx, "sig1", fmt.Sprintf("P%04d", i), time.Minute)
			if err != nil {
				t.Error(err)
			}
			leaders[i] = l
		}()
	}
	wg.Wait()
	for _, l := range leaders {
		if l != leaders[0] || l == "" {
			t.Fatalf("leaders %v", leaders)
		}
	}
	// Asked again (a redelivery), the answer is the same, for members and the leader.
	if l, _ := a.Join(ctx, "sig1", "P0007", time.Minute); l != leaders[0] {
		t.Fatalf("redelivery got %s", l)
	}
	if l, _ := b.Join(ctx, "sig1", leaders[0], time.Minute); l != leaders[0] {
		t.Fatalf("the leader's redelivery got %s", l)
	}
	// The window runs from the latest arrival.
	if ttl := rdb.PTTL(ctx, storm.Key("sig1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
	// Closing by a non-leader does nothing; by the leader, the next incident leads a new storm.
	if err := a.Close(ctx, "sig1", "P9999"); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.Join(ctx, "sig1", "P5000", time.Minute); l != leaders[0] {
		t.Fatal("closed by a non-leader")
	}
	if err := a.Close(ctx, "sig1", leaders[0]); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.Join(ctx, "sig1", "P5001", time.Minute); l != "P5001" {
		t.Fatalf("after close, leader %s", l)
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Disk 91% full on db-3", `Job "x" failed (exit 1)`, "a \"b", "ÄÖ 10.0.0.1:80", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		tmpl := storm.Template(title)
		if again := storm.Template(tmpl); again != tmpl {
			t.Fatalf("not stable: %q → %q → %q", title, tmpl, again)
		}
		if strings.ContainsAny(tmpl, "0123456789") {
			t.Fatalf("a digit survived: %q → %q", title, tmpl)
		}
		if storm.Signature("S", title) != storm.Signature("S", tmpl) {
			t.Fatalf("a title and its template differ in signature: %q", title)
		}
	})
}

package search

import (
	"strings"
	"testing"
)

func TestTokensOpsText(t *testing.T) {
	got := strings.Join(Tokens("java.lang.NullPointerException at FileSystem.getFileStatus on ip-10-0-0-12.ec2.internal: max_connections reached, the disks", nil), " ")
	for _, want := range []string{"java.lang.nullpointerexception", "null", "pointer", "exception", "filesystem.getfilestatus", "file", "system", "status",
		"ip-#-#-#-#.ec2.internal", "max_connections", "max", "connection", "reach", "disk"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("tokens lack %q: %s", want, got)
		}
	}
	for _, not := range []string{" the ", " at ", " 10 "} {
		if strings.Contains(" "+got+" ", not) {
			t.Errorf("tokens keep %q: %s", not, got)
		}
	}
}

func TestIndexReplaceAndRemove(t *testing.T) {
	ix := NewIndex()
	ix.Add(Doc{ID: "1", Title: "disk full on db"})
	ix.Add(Doc{ID: "2", Title: "certificate expired"})
	ix.Add(Doc{ID: "1", Title: "memory leak in cache"})
	if ix.Len() != 2 {
		t.Fatalf("len %d", ix.Len())
	}
	if h := ix.Search("disk full", "", 5, ""); len(h) != 0 {
		t.Fatalf("replaced text still found: %+v", h)
	}
	if h := ix.Search("memory leak", "", 5, ""); len(h) != 1 || h[0].ID != "1" {
		t.Fatalf("%+v", h)
	}
	ix.Remove("2")
	if h := ix.Search("certificate", "", 5, ""); len(h) != 0 || ix.Len() != 1 {
		t.Fatalf("removed doc found: %+v", h)
	}
}

func FuzzTokens(f *testing.F) {
	f.Add("java.lang.NullPointerException at Foo.bar(Foo.java:42)")
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokens(s, nil) {
			if tok == "" || len(tok) > 60 {
				t.Fatalf("bad token %q", tok)
			}
		}
	})
}

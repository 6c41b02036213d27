package logtmpl

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// A saved state restores the same templates under the same ids, all
// known; lines mined after it are new unless they match; merges across
// runs keep the older id and old ids still resolve.
func TestStateRoundTripKeepsIDsAndKnowledge(t *testing.T) {
	m := NewMiner(Default)
	login := m.Add("login failed for alice from 10.0.0.1")
	pool := m.Add("pool size 20 reached on node/a")
	m.Add("pool size 21 reached on node/b") // generalizes the template; id kept
	users := []*Cluster{m.Add("Invalid user alice from 10.0.0.1"), m.Add("Invalid user bob from 10.0.0.2")}
	if pool.String() != "pool size <NUM> reached on <*>" {
		t.Fatalf("%q", pool.String())
	}
	poolID, loginID, bobID := pool.Group(), login.Group(), users[1].Group()
	raw, err := json.Marshal(m.State(0))
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(Default, st)
	if err != nil {
		t.Fatal(err)
	}
	again := r.Add("pool size 99 reached on node/z")
	if again.Group() != poolID || !again.Known() {
		t.Fatalf("restored template: %s known=%v, want %s", again.Group(), again.Known(), poolID)
	}
	if c := r.Add("login failed for alice from 10.9.9.9"); c.Group() != loginID || !c.Known() {
		t.Fatal("a single line of an old event is not recognised")
	}
	if c := r.Add("disk full on /var"); c.Known() {
		t.Fatal("a new event is known")
	}
	// Two more users make the user a variable: the new run's clusters fold
	// into the restored ones, which are older and keep their id.
	r.Add("Invalid user carol from 10.0.0.3")
	c := r.Add("Invalid user dave from 10.0.0.4")
	if c.Group() != users[0].Group() || !c.Known() {
		t.Fatalf("merge across runs: %s, want %s", c.Group(), users[0].Group())
	}
	if r.Resolve(bobID) != users[0].Group() {
		t.Fatalf("the merged-away id %s resolves to %s", bobID, r.Resolve(bobID))
	}
	// ...and after another save and restore.
	r2, err := Restore(Default, r.State(0))
	if err != nil || r2.Resolve(bobID) != users[0].Group() {
		t.Fatalf("alias lost: %v", err)
	}
	if r2.Add("") == nil || r2.Add("") != r2.Add("   ") {
		t.Fatal("the empty template is not one")
	}
}

// A state keeps at most max clusters: the groups seen least recently go.
func TestStateForgetsTheLeastRecentlySeen(t *testing.T) {
	m := NewMiner(Default)
	for i := 0; i < 30; i++ {
		m.Add(fmt.Sprintf("event%c occurred", 'A'+i))
	}
	r, err := Restore(Default, m.State(0))
	if err != nil {
		t.Fatal(err)
	}
	r.Add("eventC occurred") // seen again, in a later epoch
	st := r.State(10)
	if len(st.Clusters) != 10 {
		t.Fatalf("%d clusters kept", len(st.Clusters))
	}
	kept, _ := Restore(Default, st)
	if c := kept.Add("eventC occurred"); !c.Known() {
		t.Fatal("the most recently seen template was forgotten")
	}
}

func TestBrokenStatesAreRefused(t *testing.T) {
	m := NewMiner(Default)
	m.Add("a b c")
	m.Add("d e f")
	good := m.State(0)
	bad := []func(*State){
		func(s *State) { s.Version = 99 },
		func(s *State) { s.Depth = 7 },
		func(s *State) { s.Clusters[0].Root = 5 },
		func(s *State) { s.Clusters[0].Root = 1; s.Clusters[1].Root = 0 },
		func(s *State) { s.Clusters[1].ID = s.Clusters[0].ID },
		func(s *State) { s.Clusters[0].Path = []string{"x", "y", "z", "w"} },
	}
	for i, mod := range bad {
		b, _ := json.Marshal(good)
		var s State
		_ = json.Unmarshal(b, &s)
		mod(&s)
		if _, err := Restore(Default, s); !errors.Is(err, ErrState) {
			t.Errorf("case %d restored: %v", i, err)
		}
	}
}

func FuzzRestore(f *testing.F) {
	m := NewMiner(Default)
	m.Add("login failed for alice from 10.0.0.1")
	m.Add("pool size 20 reached on node/a")
	b, _ := json.Marshal(m.State(0))
	f.Add(b, "pool size 21 reached on node/b")
	f.Add([]byte(`{"v":1,"depth":2,"clusters":[{"id":"x","t":[],"r":0}]}`), "")
	f.Fuzz(func(t *testing.T, data []byte, line string) {
		var s State
		if json.Unmarshal(data, &s) != nil {
			return
		}
		r, err := Restore(Default, s)
		if err != nil {
			return
		}
		c := r.Add(line)
		if c.Group() == "" || r.Resolve(c.Group()) != c.Group() {
			t.Fatalf("group %q resolves to %q", c.Group(), r.Resolve(c.Group()))
		}
		if _, err := Restore(Default, r.State(0)); err != nil {
			t.Fatalf("a state it made does not restore: %v", err)
		}
	})
}

package logtmpl

import (
	"strings"
	"testing"
)

func TestMaskToken(t *testing.T) {
	cases := map[string]string{
		"42": VarNum, "-7": VarNum, "3.14": VarNum, "250ms": VarNum, "10.0.0.1": VarIP, "10.0.0.1:8080": VarAny,
		"fe80::1": VarIP, "0x7ff1b2d17980": VarID, "deadbeef12": VarID, "3fa85f64-5717-4562-b3fc-2c963f66afa6": VarID,
		"blk_-1608999687919862906": "blk_<NUM>", "blk_38865049064139660": "blk_<NUM>", "ssh2": "ssh<NUM>",
		"mtalk.google.com": VarAny, "msra-sa-41:9000": VarAny, "Jun": VarAny, "word": "word", "setup.py": "setup.py",
	}
	for in, want := range cases {
		if got, _ := maskToken(in, nil); got != want {
			t.Errorf("maskToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinerGroupsVariablesAndKeepsConstants(t *testing.T) {
	m := NewMiner(Default)
	a := m.Add("Worker 12 started on 10.0.0.1 in 35ms")
	b := m.Add("Worker 7 started on 10.0.0.2 in 120ms")
	c := m.Add("Worker 7 stopped on 10.0.0.2 in 120ms")
	if a.Group() != b.Group() || a.Group() == c.Group() {
		t.Fatalf("groups: %s %s %s", a.Group(), b.Group(), c.Group())
	}
	if got := a.String(); got != "Worker <NUM> started on <IP> in <NUM>" {
		t.Fatalf("template %q", got)
	}
	// Two states stay two templates; many user names become a variable.
	s1 := m.Add("Location state Active now")
	s2 := m.Add("Location state Inactive now")
	if s1.Group() == s2.Group() {
		t.Fatal("two words merged into a variable too early")
	}
	var users []*Cluster
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		users = append(users, m.Add("Invalid user "+u+" from 10.0.0.9"))
	}
	for _, u := range users[1:] {
		if u.Group() != users[0].Group() {
			t.Fatalf("user names not recognised as a variable: %v", users[0].String())
		}
	}
	if e := m.Add("   "); e.Group() != m.Add("").Group() {
		t.Fatal("empty lines not grouped")
	}
}

func TestStripHeader(t *testing.T) {
	cases := map[string]string{
		"2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster": "Created MRAppMaster",
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186":                           "Invalid user webmaster from 173.234.31.186",
		"081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block":                        "PacketResponder 1 for block",
		"20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579":                                         "onStandStepChanged 3579",
		"[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6":                              "mod_jk child workerEnv in error state 6",
		"plain message without header": "plain message without header",
	}
	for in, want := range cases {
		if got := StripHeader(in); got != want {
			t.Errorf("StripHeader(%q) = %q, want %q", in, got, want)
		}
	}
	if Level("2015-10-18 18:01:47,978 ERROR [main] x") != "ERROR" || Level("hello world") != "" {
		t.Fatal("Level")
	}
}

func FuzzMiner(f *testing.F) {
	for _, s := range []string{"", "a", "Worker 12 started on 10.0.0.1", "x:1 y=2 [z] (w)", "\r\n", "::1 0x00 <NUM> <*>"} {
		f.Add(s, "Invalid user bob from 10.0.0.1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		m := NewMiner(Default)
		ca := m.Add(a)
		cb := m.Add(b)
		m.Add(a)
		if ca.Group() == "" || cb.Group() == "" {
			t.Fatal("no group")
		}
		if a == b && ca.Group() != cb.Group() {
			t.Fatalf("same line, different groups")
		}
		if len(ca.find().Template) != len(m.Tokens(a)) && len(m.Tokens(a)) > 0 && ca.find() == ca {
			t.Fatalf("template length differs from tokens")
		}
		_ = strings.TrimSpace(StripHeader(a))
	})
}

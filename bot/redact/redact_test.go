package redact

import (
	"strings"
	"testing"
)

func TestDetectors(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		// network and identity
		{"Failed password for root from 173.234.31.186 port 38926 ssh2", "Failed password for [USERNAME_1] from [IP_ADDRESS_1] port 38926 ssh2"},
		{"connect to [2001:db8::1]:443 and fe80::1ff:fe23:4567:890a", "connect to [[IP_ADDRESS_1]]:443 and [IP_ADDRESS_2]"},
		{"listening on 10.0.0.7:8080", "listening on [IP_ADDRESS_1]:8080"},
		{"mail alice.smith@example.com bounced", "mail [EMAIL_ADDRESS_1] bounced"},
		{"db-7.corp.example.com timed out; proxy.cse.cuhk.edu.hk:5070 open", "[HOSTNAME_1] timed out; [HOSTNAME_2]:5070 open"},
		{"Old: msra-sa-41/10.190.173.170:9000 New: msra-sa-41:9000", "Old: [HOSTNAME_1]/[IP_ADDRESS_1]:9000 New: [HOSTNAME_1]:9000"},
		{"link 00:11:43:e3:ba:c3 up", "link [MAC_ADDRESS_1] up"},
		{"session opened for user root by (uid=0)", "session opened for user [USERNAME_1] by (uid=0)"},
		{"Invalid user webmaster from 1.2.3.4", "Invalid user [USERNAME_1] from [IP_ADDRESS_1]"},
		{"pam_unix: authentication failure; user=alice", "pam_unix: authentication failure; user=[USERNAME_1]"},
		{"open /home/bob/.ssh/config", "open /home/[USERNAME_1]/.ssh/config"},
		{"crond[2916]: (root) CMD (run-parts /etc/cron.hourly)", "crond[2916]: ([USERNAME_1]) CMD (run-parts /etc/cron.hourly)"},
		// credentials
		{"GET https://bob:hunter2@api.example.com/v1?token=abcd1234efgh5678&page=2", "GET https://[USERNAME_1]:[PASSWORD_1]@[HOSTNAME_1]/v1?token=[SECRET_1]&page=2"},
		{"DATABASE_URL=postgres://app:s3cret-pw@10.1.2.3:5432/orders", "DATABASE_URL=postgres://[USERNAME_1]:[PASSWORD_1]@[IP_ADDRESS_1]:5432/orders"},
		{"Authorization: Bearer abcdef123456789xyz", "Authorization: Bearer [AUTH_TOKEN_1]"},
		{"Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [AUTH_TOKEN_1]"},
		{`password=hunter2 pwd: "Tr0ub4dor&3"`, `password=[PASSWORD_1] pwd: "[PASSWORD_2]"`},
		{`{"api_key": "Zx9kk2LmQ8w7eR4t", "debug": true}`, `{"api_key": "[SECRET_1]", "debug": true}`},
		{"aws_access_key_id=AKIAQD7VELNZKUMQGHP3", "aws_access_key_id=[SECRET_1]"},
		{"key AKIAQD7VELNZKUMQGHP3 used", "key [AWS_ACCESS_KEY_1] used"},
		{"using ghp_1234567890abcdefghijABCDEFGHIJ123456 now", "using [GITHUB_TOKEN_1] now"},
		{"token glpat-Abcdef1234567890XyZw", "token [GITLAB_TOKEN_1]"},
		{"bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "bot [SLACK_TOKEN_1]"},
		{"charge via sk_live_4eC39HqLyjWDarjtT1zdp7dc", "charge via [STRIPE_KEY_1]"},
		{"key=AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU", "key=[SECRET_1]"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok", "jwt [JWT_1] ok"},
		{"curl -u admin:Sup3rS3cret https://localhost:9200", "curl -u [USERNAME_1]:[PASSWORD_1] https://localhost:9200"},
		{"card 4111-1111-1111-1111 declined", "card [CREDIT_CARD_1] declined"},
		{"call +44 20 7946 0958 now", "call [PHONE_NUMBER_1] now"},
		{"phone (415) 555-0100", "phone [PHONE_NUMBER_1]"},
	}
	for _, c := range cases {
		got, _ := Default().NewSession().Text(c.in)
		if got != c.want {
			t.Errorf("\n in:   %s\n got:  %s\n want: %s", c.in, got, c.want)
		}
	}
}

// Diagnostic value stays: timestamps, status codes, ports, durations, paths,
// exception names, stack frames, hex ids, UUIDs.
func TestKeepsDiagnosticValue(t *testing.T) {
	for _, in := range []string{
		"2026-11-20T10:00:00.123Z ERROR [main] status=503 latency=1.25s retries=3",
		"2015-10-18 18:01:47,978 INFO org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001",
		"java.lang.NullPointerException: null",
		"\tat com.example.checkout.CartService.total(CartService.java:142)",
		"GET /api/v1/orders/42 HTTP/1.1 200 1532 12ms",
		"port 8080 in use; listening on :9090 instead",
		"trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7",
		"request 3fa85f64-5717-4562-b3fc-2c963f66afa6 done in 250ms",
		"open /var/log/nginx/error.log failed: permission denied",
		"Traceback (most recent call last): File \"app.py\", line 12, in <module>",
		"check pass; user unknown",
		"blk_-1608999687919862906 terminating",
		"version 1.2.3.4-beta built",
	} {
		if got := Default().NewSession().String(in); got != in {
			t.Errorf("changed diagnostic text:\n in:  %s\n got: %s", in, got)
		}
	}
}

func TestPlaceholdersAreConsistent(t *testing.T) {
	s := Default().NewSession()
	a := s.String("from 10.0.0.1 and 10.0.0.2")
	b := s.String("again 10.0.0.2 then 10.0.0.1 and DB-1.Corp.Example.com")
	c := s.String("host db-1.corp.example.com")
	if a != "from [IP_ADDRESS_1] and [IP_ADDRESS_2]" || b != "again [IP_ADDRESS_2] then [IP_ADDRESS_1] and [HOSTNAME_1]" || c != "host [HOSTNAME_1]" {
		t.Fatalf("%q / %q / %q", a, b, c)
	}
	m := s.Mapping()
	if m["[IP_ADDRESS_1]"] != "10.0.0.1" || m["[HOSTNAME_1]"] != "DB-1.Corp.Example.com" {
		t.Fatalf("mapping = %v", m)
	}
	// A restored session continues the numbering and reuses placeholders.
	r := Default().NewSession()
	if err := r.Load(m); err != nil {
		t.Fatal(err)
	}
	if got := r.String("10.0.0.1 10.0.0.9"); got != "[IP_ADDRESS_1] [IP_ADDRESS_3]" {
		t.Fatalf("restored: %q", got)
	}
}

func TestSecretReappearingElsewhereIsMasked(t *testing.T) {
	s := Default().NewSession()
	s.String("password=Xk9-pLm2-Qq7z")
	if got := s.String("retry with Xk9-pLm2-Qq7z/suffix"); strings.Contains(got, "Xk9-pLm2-Qq7z") {
		t.Fatalf("secret leaked on a later line: %q", got)
	}
}

func TestPrivateKeyBlockAcrossLines(t *testing.T) {
	in := "loading key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c2s\nq8Lw0Qd9f3b\n-----END RSA PRIVATE KEY-----\nkey loaded"
	got, _ := Default().NewSession().Text(in)
	want := "loading key\n[PRIVATE_KEY_1]\n[PRIVATE_KEY_1]\n[PRIVATE_KEY_1]\n[PRIVATE_KEY_1]\nkey loaded"
	if got != want {
		t.Fatalf("got %q", got)
	}
	one := `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}`
	if got := Default().NewSession().String(one); strings.Contains(got, "MIIEvQ") {
		t.Fatalf("inline key leaked: %q", got)
	}
}

func TestCustomPatternsAndInternalDomains(t *testing.T) {
	e, err := New(Config{InternalDomains: []string{".corp.internal"}, Custom: []CustomPattern{{Name: "employee_id", Pattern: `EMP-\d{6}`, Keywords: []string{"emp-"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.NewSession().String("EMP-123456 logged into build7.corp.internal")
	if got != "[EMPLOYEE_ID_1] logged into [HOSTNAME_1]" {
		t.Fatalf("%q", got)
	}
	for _, bad := range []Config{
		{Custom: []CustomPattern{{Name: "x y", Pattern: "a"}}},
		{Custom: []CustomPattern{{Name: "x", Pattern: "("}}},
		{Custom: []CustomPattern{{Name: "x", Pattern: "a*"}}},
		{InternalDomains: []string{" . "}},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestFindingsOffsets(t *testing.T) {
	in := "ip 10.1.2.3 and mail a@b.example.org"
	_, f := Default().NewSession().Line(in)
	if len(f) != 2 || in[f[0].Start:f[0].End] != "10.1.2.3" || in[f[1].Start:f[1].End] != "a@b.example.org" || f[1].Placeholder != "[EMAIL_ADDRESS_1]" {
		t.Fatalf("findings = %+v", f)
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"Failed password for root from 173.234.31.186 port 38926 ssh2",
		"https://bob:hunter2@api.example.com/v1?token=abcd1234efgh5678",
		"password=hunter2 api_key: \"AKIAIOSFODNN7EXAMPLE\"",
		"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig fe80::1 00:11:22:33:44:55 +1 415 555 0100",
		"Authorization: Bearer xyz12345678 user=alice /home/bob/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := Default().NewSession()
		out, finds := s.Text(in)
		if strings.Count(out, "\n") != strings.Count(in, "\n") {
			t.Fatalf("line count changed")
		}
		for _, x := range finds {
			if x.Start < 0 || x.End > len(in) || x.Start >= x.End {
				t.Fatalf("bad finding %+v for input of %d bytes", x, len(in))
			}
			v := in[x.Start:x.End]
			if IsSecret(x.Kind) && len(v) >= 6 && strings.Contains(out, v) {
				t.Fatalf("secret %q (%s) still in output %q", v, x.Kind, out)
			}
		}
	})
}

// A key block whose BEGIN line was seen before keeps its own placeholder
// on every line (not the newest key placeholder handed out).
func TestRepeatedKeyHeaderKeepsItsPlaceholder(t *testing.T) {
	s := Default().NewSession()
	block := func(kind, body string) string {
		return "-----BEGIN " + kind + " PRIVATE KEY-----\n" + body + "\n-----END " + kind + " PRIVATE KEY-----"
	}
	s.String(block("RSA", "MIIEpAIBAAKCAQEA1c2s"))
	s.String(block("EC", "MHcCAQEEIO2x9mQ"))
	got := s.String(block("RSA", "MIIEowIBAAKCAQEA9z8t"))
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || lines[0] != lines[1] || lines[1] != lines[2] {
		t.Fatalf("one block, one placeholder: %q", got)
	}
}

// The shapes issue 12 reported, each as it was seen.
func TestReportedShapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"retrying with creds alice:S3cr3t!pw now", "retrying with creds [USERNAME_1]:[PASSWORD_1] now"},
		{"credentials=deploy:Xy7#pw99", "credentials=[USERNAME_1]:[PASSWORD_1]"},
		{"login root:toor1234 rejected", "login [USERNAME_1]:[PASSWORD_1] rejected"},
		{"dial postgres://app:p@ss/w#rd?x1@db.example.com:5432/orders", "dial postgres://[USERNAME_1]:[PASSWORD_1]@[HOSTNAME_1]:5432/orders"},
		{"amqp://svc:Tr0ub4dor:tf92?24@auth-3.example.io:5671/vh", "amqp://[USERNAME_1]:[PASSWORD_1]@[HOSTNAME_1]:5671/vh"},
		{"card 4679 3716 6908 4342 declined", "card [CREDIT_CARD_1] declined"},
		{"amex 3782 822463 10005 ok", "amex [CREDIT_CARD_1] ok"},
		{"DB_PASSWORD_FILE=/run/secrets/db_password", "DB_PASSWORD_FILE=/run/secrets/db_password"},
		{"PASSWORD_MIN_LENGTH=12", "PASSWORD_MIN_LENGTH=12"},
		{`From: "Jane Roe" <jane.roe@example.com>`, `From: "[PERSON_NAME_1]" <[EMAIL_ADDRESS_1]>`},
		{"customer Priya Sharma reported it", "customer [PERSON_NAME_1] reported it"},
		{"key AKIATMYCWSBZOZSJWDZB denied", "key [AWS_ACCESS_KEY_1] denied"},
	} {
		if got, _ := Default().NewSession().Text(c.in); got != c.want {
			t.Errorf("\n in:   %s\n got:  %s\n want: %s", c.in, got, c.want)
		}
	}
}

// A key at the end of a log line says nothing about the next line: only
// an indented one-token continuation is its value.
func TestExpectationsDoNotCrossLines(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"db-password:\nGET /healthz 200", "db-password:\nGET /healthz 200"},
		{"\"apiKey\": \"${X}\",\nL7 ERROR upstream reset", "\"apiKey\": \"${X}\",\nL7 ERROR upstream reset"},
		{"password:\n\tat com.example.Main.run(Main.java:10)", "password:\n\tat com.example.Main.run(Main.java:10)"},
		{"db-password: |\n  c2VjcmV0cGFzc3dvcmQ=", "db-password: |\n  [PASSWORD_1]"},
	} {
		if got, _ := Default().NewSession().Text(c.in); got != c.want {
			t.Errorf("\n in:   %q\n got:  %q\n want: %q", c.in, got, c.want)
		}
	}
}

// One value is one placeholder, whatever detected it: a user alone and
// inside a credential pair, a password in a key and in a URL.
func TestOneValueOnePlaceholder(t *testing.T) {
	s := Default().NewSession()
	got := s.String("user=alice password=Hunter2Hunter2\nconnect mysql://alice:Hunter2Hunter2@db.example.com/app\nsecret=Hunter2Hunter2")
	want := "user=[USERNAME_1] password=[PASSWORD_1]\nconnect mysql://[USERNAME_1]:[PASSWORD_1]@[HOSTNAME_1]/app\nsecret=[PASSWORD_1]"
	if got != want {
		t.Fatalf("\n got:  %s\n want: %s", got, want)
	}
}

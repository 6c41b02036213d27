package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/opsgate/opsgate/bot/mail"
	"github.com/opsgate/opsgate/integrations/fakes/mailbox"
)

// serve starts a real SMTP server on loopback (package mailbox).
func serve(t *testing.T, o mailbox.Options) (*mailbox.Server, string, *tls.Config) {
	t.Helper()
	s, err := mailbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, s.Port, s.ClientTLS
}

func TestSendOverStartTLSWithAuth(t *testing.T) {
	in, port, tlsConf := serve(t, mailbox.Options{User: "opsgate", Pass: "hunter2-smtp-pass", TLS: true})
	cfg, err := mail.ParseURL("smtp://opsgate:hunter2-smtp-pass@127.0.0.1:" + port + "?starttls=true")
	if err != nil {
		t.Fatal(err)
	}
	s := &mail.Sender{Config: cfg, From: "opsgate <opsgate@acme.example>", TLS: tlsConf}
	err = s.Send(context.Background(), mail.Message{To: []string{"cto@acme.example", "Status <status@acme.example>"},
		Subject: "Checkout: degraded — über-update\r\nBcc: evil@x.example", Body: "Status: investigating\n.hidden line starts with a dot\nNext update 15:00 UTC"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := in.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "opsgate@acme.example" || strings.Join(m.To, ",") != "cto@acme.example,status@acme.example" {
		t.Fatalf("envelope %+v", m)
	}
	for _, want := range []string{"Subject: =?utf-8?q?", "To: cto@acme.example, status@acme.example", "\r\n.hidden line starts with a dot\r\n", "Next update 15:00 UTC"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	if strings.Contains(m.Data, "\r\nBcc:") {
		t.Fatalf("a header was injected through the subject:\n%s", m.Data)
	}
	// A wrong password: refused, and the error does not repeat it.
	bad, _ := mail.ParseURL("smtp://opsgate:wrong-pass-777@127.0.0.1:" + port)
	err = (&mail.Sender{Config: bad, From: "opsgate@acme.example", TLS: tlsConf}).Send(context.Background(), mail.Message{To: []string{"a@acme.example"}, Subject: "x", Body: "x"})
	if err == nil || strings.Contains(err.Error(), "wrong-pass-777") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestStartTLSIsRequiredWhenAskedAndImplicitTLSWorks(t *testing.T) {
	plain, port, _ := serve(t, mailbox.Options{})
	cfg, _ := mail.ParseURL("smtp://127.0.0.1:" + port)
	err := (&mail.Sender{Config: cfg, From: "opsgate@acme.example"}).Send(context.Background(), mail.Message{To: []string{"a@acme.example"}, Subject: "x", Body: "x"})
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") || len(plain.Messages()) != 0 {
		t.Fatalf("plain server with starttls asked: %v", err)
	}
	tlsIn, port, tlsConf := serve(t, mailbox.Options{TLS: true, Implicit: true})
	cfg, _ = mail.ParseURL("smtps://127.0.0.1:" + port)
	if err := (&mail.Sender{Config: cfg, From: "opsgate@acme.example", TLS: tlsConf}).Send(context.Background(), mail.Message{To: []string{"a@acme.example"}, Subject: "x", Body: "y"}); err != nil {
		t.Fatal(err)
	}
	if n := len(tlsIn.Messages()); n != 1 {
		t.Fatalf("%d messages over smtps", n)
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		port string
		tls  bool
	}{
		{"smtp://u:p@mail.acme.example:587?starttls=true", true, "587", true},
		{"smtp://mail.acme.example", true, "587", true},
		{"smtp://mail.acme.example:25?starttls=false", true, "25", false},
		{"smtps://mail.acme.example", true, "465", false},
		{"http://mail.acme.example", false, "", false},
		{"smtp://", false, "", false},
		{"smtp://mail.acme.example:99999", false, "", false},
		{"smtp://mail.acme.example?starttls=maybe", false, "", false},
		{"smtp://u:s3cret-pw@host:x", false, "", false},
	} {
		cfg, err := mail.ParseURL(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, mail.ErrConfig) || strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("%s: error %v", c.in, err)
			}
			continue
		}
		if cfg.Port != c.port || cfg.StartTLS != c.tls {
			t.Errorf("%s: %+v", c.in, cfg)
		}
	}
}

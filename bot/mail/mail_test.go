package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/opsgate/opsgate/bot/mail"
)

// inbox is a real SMTP server (go-smtp) on loopback that keeps what it
// was sent and checks AUTH PLAIN.
type inbox struct {
	mu   sync.Mutex
	msgs []received
	user string
	pass string
}

type received struct {
	From string
	To   []string
	Data string
}

type session struct {
	in   *inbox
	auth bool
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.in.user || pass != s.in.pass {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.in.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, s.cur)
	s.in.mu.Unlock()
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// serve starts the inbox: withTLS offers STARTTLS (or, implicit, TLS from
// the first byte); it returns the port and the client's TLS config.
func serve(t *testing.T, in *inbox, withTLS, implicit bool) (string, *tls.Config) {
	t.Helper()
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{in: in}, nil }))
	s.Domain, s.ReadTimeout, s.WriteTimeout = "localhost", 5*time.Second, 5*time.Second
	var client *tls.Config
	if withTLS {
		cert, pool := selfSigned(t)
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, client
}

func TestSendOverStartTLSWithAuth(t *testing.T) {
	in := &inbox{user: "opsgate", pass: "hunter2-smtp-pass"}
	port, tlsConf := serve(t, in, true, false)
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
	if len(in.msgs) != 1 {
		t.Fatalf("%d messages", len(in.msgs))
	}
	m := in.msgs[0]
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
	plain := &inbox{}
	port, _ := serve(t, plain, false, false)
	cfg, _ := mail.ParseURL("smtp://127.0.0.1:" + port)
	err := (&mail.Sender{Config: cfg, From: "opsgate@acme.example"}).Send(context.Background(), mail.Message{To: []string{"a@acme.example"}, Subject: "x", Body: "x"})
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") || len(plain.msgs) != 0 {
		t.Fatalf("plain server with starttls asked: %v", err)
	}
	tlsIn := &inbox{}
	port, tlsConf := serve(t, tlsIn, true, true)
	cfg, _ = mail.ParseURL("smtps://127.0.0.1:" + port)
	if err := (&mail.Sender{Config: cfg, From: "opsgate@acme.example", TLS: tlsConf}).Send(context.Background(), mail.Message{To: []string{"a@acme.example"}, Subject: "x", Body: "y"}); err != nil {
		t.Fatal(err)
	}
	if len(tlsIn.msgs) != 1 {
		t.Fatalf("%d messages over smtps", len(tlsIn.msgs))
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

// Package mailbox is a real SMTP server (emersion/go-smtp) on loopback
// that keeps what it is sent, for tests and `opsgate demo`: it speaks the
// protocol a real relay speaks — STARTTLS or implicit TLS with its own
// certificate, AUTH PLAIN checked against one account, MAIL before RCPT
// before DATA — so a client that gets any of it wrong fails here too.
package mailbox

import (
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
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure the server.
type Options struct {
	User, Pass string // set: AUTH PLAIN with these is required before MAIL
	TLS        bool   // offer STARTTLS
	Implicit   bool   // with TLS: TLS from the first byte (smtps)
}

// Message is one delivered e-mail: the envelope and the raw data.
type Message struct {
	From string
	To   []string
	Data string
}

// Server is a running mailbox. Close it when done.
type Server struct {
	Port string
	// ClientTLS trusts the server's certificate (nil without TLS).
	ClientTLS *tls.Config

	o    Options
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Message
}

// Start listens on a free loopback port.
func Start(o Options) (*Server, error) {
	s := &Server{o: o}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain, s.srv.ReadTimeout, s.srv.WriteTimeout = "localhost", 10*time.Second, 10*time.Second
	s.srv.AllowInsecureAuth = false
	if o.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	var l net.Listener
	var err error
	if o.TLS && o.Implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	go func() { _ = s.srv.Serve(l) }()
	_, s.Port, _ = net.SplitHostPort(l.Addr().String())
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Messages returns what was delivered so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

type session struct {
	s    *Server
	auth bool
	cur  Message
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.o.User || pass != x.s.o.Pass {
			return errors.New("invalid credentials")
		}
		x.auth = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.o.User != "" && !x.auth {
		return smtp.ErrAuthRequired
	}
	x.cur = Message{From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.cur.Data = string(b)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, x.cur)
	x.s.mu.Unlock()
	return nil
}

func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}

// Package mail sends plain-text e-mail over SMTP for stakeholder updates:
// SMTP_URL names the server (smtp://user:pass@host:587?starttls=true, or
// smtps:// for TLS from the first byte), SMTP_FROM the sender. It refuses to
// send credentials over a connection that is not encrypted (net/smtp's
// rule; loopback excepted), and never puts the password in an error.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrConfig wraps every SMTP_URL / SMTP_FROM problem.
var ErrConfig = errors.New("mail: bad configuration")

// Config is a parsed SMTP_URL.
type Config struct {
	Host, Port         string
	Username, Password string
	ImplicitTLS        bool // smtps://
	StartTLS           bool // upgrade with STARTTLS (required when true)
}

// ParseURL reads SMTP_URL. STARTTLS defaults to on, except with smtps://
// (already encrypted); port defaults to 587 (smtp) or 465 (smtps).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%w: SMTP_URL is not a URL", ErrConfig)
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port, c.StartTLS = "587", true
	case "smtps":
		c.Port, c.ImplicitTLS = "465", true
	default:
		return Config{}, fmt.Errorf("%w: SMTP_URL must start with smtp:// or smtps://", ErrConfig)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, fmt.Errorf("%w: SMTP_URL has no host", ErrConfig)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("%w: SMTP_URL port is not 1..65535", ErrConfig)
		}
		c.Port = p
	}
	if v := u.Query().Get("starttls"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%w: SMTP_URL starttls must be true or false", ErrConfig)
		}
		c.StartTLS = b && !c.ImplicitTLS
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// Sender sends messages through one SMTP server.
type Sender struct {
	Config Config
	From   string      // SMTP_FROM, an address
	TLS    *tls.Config // nil: the system's roots, ServerName = host
	Now    func() time.Time
}

// Message is one e-mail.
type Message struct {
	To      []string
	Subject string
	Body    string // plain text
}

// Send delivers m; ctx bounds the whole exchange.
func (s *Sender) Send(ctx context.Context, m Message) error {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("%w: SMTP_FROM is not an address", ErrConfig)
	}
	if len(m.To) == 0 {
		return fmt.Errorf("mail: no recipients")
	}
	var to []string
	for _, a := range m.To {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return fmt.Errorf("mail: %q is not an address", a)
		}
		to = append(to, addr.Address)
	}
	tlsConf := s.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: s.Config.Host, MinVersion: tls.VersionTLS12}
	}
	addr := net.JoinHostPort(s.Config.Host, s.Config.Port)
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if s.Config.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.Config.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %s: %w", addr, err)
	}
	defer c.Close()
	if s.Config.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("mail: %s does not offer STARTTLS (SMTP_URL asks for it)", addr)
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	}
	if s.Config.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Config.Username, s.Config.Password, s.Config.Host)); err != nil {
			return fmt.Errorf("mail: authentication as %s failed: %s", s.Config.Username, strings.ReplaceAll(err.Error(), s.Config.Password, "[PASSWORD]"))
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return fmt.Errorf("mail: RCPT TO %s: %w", a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(s.compose(from, to, m)); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: the server refused the message: %w", err)
	}
	return c.Quit()
}

// compose writes the headers and the body (CRLF line ends; the subject
// encoded when it is not ASCII; header injection impossible: newlines in
// the subject are folded to spaces).
func (s *Sender) compose(from *mail.Address, to []string, m Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	subject := strings.Join(strings.Fields(m.Subject), " ")
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@opsgate>\r\n", hex.EncodeToString(id))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

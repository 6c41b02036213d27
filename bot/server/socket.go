package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
)

// socketKey marks a request that arrived over a Socket Mode connection:
// Slack authenticated it (the connection was opened with the app-level
// token), so it carries no signature to check.
type socketKey struct{}

// Envelope types of Socket Mode.
const (
	EnvelopeSlash       = "slash_commands"
	EnvelopeInteractive = "interactive"
	EnvelopeEvents      = "events_api"
)

// Envelope handles one Socket Mode envelope the way the HTTP endpoint for
// its type handles a request — the same parsing, checks, queueing and
// answers — and returns what to acknowledge it with: a slash command's
// answer, a modal's field errors, or nothing. ok is false when the work
// could not be queued: the envelope is then not acknowledged, and Slack
// delivers it again.
func (s *Server) Envelope(ctx context.Context, typ string, payload json.RawMessage) (ack json.RawMessage, ok bool, err error) {
	var path, contentType string
	var body []byte
	switch typ {
	case EnvelopeSlash:
		var fields map[string]any
		if err := json.Unmarshal(payload, &fields); err != nil {
			return nil, true, fmt.Errorf("socket mode: slash command payload: %w", err)
		}
		form := url.Values{}
		for k, v := range fields {
			if str, ok := v.(string); ok {
				form.Set(k, str)
			}
		}
		path, contentType, body = "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())
	case EnvelopeInteractive:
		path, contentType, body = "/slack/interactions", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(payload)}}.Encode())
	case EnvelopeEvents:
		path, contentType, body = "/slack/events", "application/json", payload
	default:
		return nil, true, nil // a type opsgate does not use: acknowledged, ignored
	}
	req := httptest.NewRequestWithContext(context.WithValue(ctx, socketKey{}, true), http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	if s.mux == nil {
		return nil, false, fmt.Errorf("socket mode: the server's routes are not built (call Handler first)")
	}
	s.mux.ServeHTTP(rec, req)
	switch {
	case rec.Code == http.StatusServiceUnavailable:
		return nil, false, fmt.Errorf("socket mode: %s: opsgate could not queue it", typ)
	case rec.Code >= 400:
		return nil, true, fmt.Errorf("socket mode: %s refused (%d): %s", typ, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 && json.Valid(b) {
		return b, true, nil
	}
	return nil, true, nil
}

// fromSocket reports whether r came over a Socket Mode connection.
func fromSocket(r *http.Request) bool {
	v, _ := r.Context().Value(socketKey{}).(bool)
	return v
}

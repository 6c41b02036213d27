package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode: apps.connections.open (with the app-level token only)
// answers a WebSocket URL; a connection is greeted with "hello", pinged,
// handed envelopes (one connection each) and must acknowledge them with
// their envelope_id; "disconnect" asks clients to reconnect.

type socketConn struct {
	ws *websocket.Conn
	mu sync.Mutex // one writer at a time
}

func (c *socketConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

type socketState struct {
	appToken string
	conns    []*socketConn
	next     int
	acks     map[string]json.RawMessage // envelope id -> ack payload ("null" when none)
	sent     map[string]int             // envelope id -> deliveries
	opened   int                        // apps.connections.open calls that succeeded
}

// EnableSocketMode makes apps.connections.open accept appToken (xapp-…).
func (s *Server) EnableSocketMode(appToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.socket = &socketState{appToken: appToken, acks: map[string]json.RawMessage{}, sent: map[string]int{}}
}

// SocketConnections is how many Socket Mode connections are open.
func (s *Server) SocketConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.socket == nil {
		return 0
	}
	return len(s.socket.conns)
}

// Ack returns the payload an envelope was acknowledged with, and whether
// it was.
func (s *Server) Ack(envelopeID string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.socket.acks[envelopeID]
	return p, ok
}

// Deliveries is how many times an envelope was sent.
func (s *Server) Deliveries(envelopeID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socket.sent[envelopeID]
}

// SendEnvelope hands an envelope to one open connection (round robin)
// and returns false when none is open. retry > 0 marks a redelivery.
func (s *Server) SendEnvelope(id, typ string, payload any, retry int) bool {
	s.mu.Lock()
	st := s.socket
	if st == nil || len(st.conns) == 0 {
		s.mu.Unlock()
		return false
	}
	c := st.conns[st.next%len(st.conns)]
	st.next++
	st.sent[id]++
	s.mu.Unlock()
	env := map[string]any{"envelope_id": id, "type": typ, "payload": payload,
		"accepts_response_payload": typ != "events_api", "retry_attempt": retry}
	if retry > 0 {
		env["retry_reason"] = "timeout"
	}
	return c.write(env) == nil
}

// DisconnectAll sends every connection Slack's "refresh_requested"
// disconnect and closes it, as Slack does every few hours.
func (s *Server) DisconnectAll() {
	s.mu.Lock()
	conns := append([]*socketConn(nil), s.socket.conns...)
	s.socket.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "fake"}})
		_ = c.ws.Close()
	}
}

// connectionsOpen answers apps.connections.open: only the app-level token
// may open a connection.
func (s *Server) connectionsOpen(tok string) apiResult {
	st := s.socket
	switch {
	case st == nil:
		return fail("not_allowed_token_type")
	case !strings.HasPrefix(tok, "xapp-"):
		return fail("not_allowed_token_type")
	case tok != st.appToken:
		return fail("invalid_auth")
	}
	st.opened++
	return apiResult{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + fmt.Sprintf("/link/?ticket=%d", st.opened)}
}

// Slack does not check a client's Origin (a server process has none to give).
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// link serves a Socket Mode WebSocket.
func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws}
	if err := c.write(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "AFAKE"},
		"debug_info": map[string]any{"host": "fake", "approximate_connection_time": 18060}}); err != nil {
		ws.Close()
		return
	}
	s.mu.Lock()
	s.socket.conns = append(s.socket.conns, c)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { // Slack pings every few seconds; slack-go drops a connection it does not hear from
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.mu.Lock()
				err := ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				c.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	defer func() {
		close(done)
		ws.Close()
		s.mu.Lock()
		for i, x := range s.socket.conns {
			if x == c {
				s.socket.conns = append(s.socket.conns[:i], s.socket.conns[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}()
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := ws.ReadJSON(&ack); err != nil {
			return
		}
		if ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		if _, sent := s.socket.sent[ack.EnvelopeID]; sent {
			if ack.Payload == nil {
				ack.Payload = json.RawMessage("null")
			}
			s.socket.acks[ack.EnvelopeID] = ack.Payload
			s.changedLocked()
		}
		s.mu.Unlock()
	}
}

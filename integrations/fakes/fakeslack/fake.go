// Package fakeslack is a stateful stand-in for Slack's Web API for tests and
// `opsgate demo`. It checks the bot token, keeps messages per channel and
// thread, validates Block Kit, and answers with Slack's error shapes
// ({"ok":false,"error":...} with HTTP 200); 429 with Retry-After and 5xx can
// be scripted per method.
package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/faults"
)

// Message is a stored message.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // "" for a channel message
	Text     string
	Blocks   json.RawMessage
	Metadata *Metadata
	Edits    int  // how many times chat.update changed it
	ByBot    bool // posted through the API with the bot token
}

// Metadata is Slack message metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Ephemeral is a message only one user saw.
type Ephemeral struct {
	Channel, User, Text string
	Blocks              json.RawMessage
}

// ResponseURLPost is a body POSTed to a response_url.
type ResponseURLPost struct {
	Token string
	Body  map[string]any
}

// Server is the fake Slack Web API. Create with New; Close when done.
type Server struct {
	*httptest.Server
	faults.Plan // FailNext(method, n, status, retryAfter), e.g. "chat.postMessage"
	token       string

	mu        sync.Mutex
	channels  map[string]string // id -> name
	users     map[string]string // id -> name
	emails    map[string]string // id -> e-mail (shown only with users:read.email)
	triggers  map[string]trigger
	files     map[string]*File
	homes     map[string]json.RawMessage
	socket    *socketState
	views     []View
	messages  map[string][]*Message
	ephemeral []Ephemeral
	responses []ResponseURLPost
	respUses  map[string]int
	hang      map[string]chan struct{}
	groups    map[string][]string // user group id -> members
	sent      []string            // every text and blocks payload received, in order
	calls     map[string]int
	clock     int64
	notify    chan struct{}
}

// New starts a fake that accepts only token and knows the given channels
// (id -> name).
func New(token string, channels map[string]string) *Server {
	s := &Server{token: token, channels: map[string]string{}, users: map[string]string{}, messages: map[string][]*Message{},
		hang: map[string]chan struct{}{}, groups: map[string][]string{}, calls: map[string]int{}, respUses: map[string]int{}, notify: make(chan struct{})}
	for id, name := range channels {
		s.channels[id] = name
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// APIURL is the base URL to give slack-go (with trailing slash).
func (s *Server) APIURL() string { return s.URL + "/api/" }

// AddUser registers a workspace user.
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = name
}

// SetEmail gives a user an e-mail address (users.info shows it in
// profile.email, as it does for an app with users:read.email).
func (s *Server) SetEmail(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emails == nil {
		s.emails = map[string]string{}
	}
	s.emails[id] = email
}

// AddUserGroup registers a user group and its members.
func (s *Server) AddUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = members
}

// Sent returns every text and blocks payload the fake received (posts,
// edits, ephemerals, response_url answers), including superseded versions.
func (s *Server) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// ResponseURL returns a fresh response_url for a slash command or action.
func (s *Server) ResponseURL(id string) string { return s.URL + "/response/" + url.PathEscape(id) }

// Hang makes calls of method block until release is called; then they
// proceed normally (even if the caller has gone away, as with a real server).
func (s *Server) Hang(method string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hang[method] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.hang, method)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Calls counts calls of method that reached the fake (failed ones too).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Changed returns a channel closed at the next state change.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

func (s *Server) changedLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// Messages returns copies of the channel's messages (parents and replies) in
// posting order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channel]))
	for _, m := range s.messages[channel] {
		out = append(out, *m)
	}
	return out
}

// Threads returns the channel's top-level messages.
func (s *Server) Threads(channel string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// Replies returns the replies in the thread of ts.
func (s *Server) Replies(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// Ephemerals returns the ephemeral messages shown so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemeral...)
}

// ResponseURLPosts returns what was POSTed to response_urls.
func (s *Server) ResponseURLPosts() []ResponseURLPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ResponseURLPost(nil), s.responses...)
}

// TotalMessages counts messages across channels.
func (s *Server) TotalMessages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ms := range s.messages {
		n += len(ms)
	}
	return n
}

type apiResult map[string]any

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(code string) apiResult { return apiResult{"ok": false, "error": code} }

// params reads form or JSON parameters as strings.
func params(r *http.Request) (map[string]string, string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, "", err
	}
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if len(bytes.TrimSpace(body)) == 0 {
			break // a method without arguments (apps.connections.open)
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, "", fmt.Errorf("invalid_json")
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				out[k] = x
			default:
				b, _ := json.Marshal(x)
				out[k] = string(b)
			}
		}
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "", fmt.Errorf("invalid_form_data")
		}
		for k := range vals {
			out[k] = vals.Get(k)
		}
		for k, v := range r.URL.Query() {
			if _, ok := out[k]; !ok {
				out[k] = v[0]
			}
		}
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = out["token"]
	}
	return out, tok, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/response/") {
		s.responseURL(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/link/") {
		s.mu.Lock()
		on := s.socket != nil
		s.mu.Unlock()
		if !on {
			http.NotFound(w, r)
			return
		}
		s.link(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/upload/") {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.upload(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.calls[method]++
	s.changedLocked()
	hang := s.hang[method]
	s.mu.Unlock()
	if hang != nil {
		<-hang
	}
	if f, ok := s.Take(method); ok {
		f.Header(w)
		if f.Status == http.StatusTooManyRequests {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body>Slack is having trouble</body></html>")
		return
	}
	p, tok, err := params(r)
	if err != nil {
		writeJSON(w, fail(err.Error()))
		return
	}
	if tok == "" {
		writeJSON(w, fail("not_authed"))
		return
	}
	if method == "apps.connections.open" {
		s.mu.Lock()
		res := s.connectionsOpen(tok)
		s.mu.Unlock()
		writeJSON(w, res)
		return
	}
	if tok != s.token {
		writeJSON(w, fail("invalid_auth"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var res apiResult
	switch method {
	case "auth.test":
		res = apiResult{"ok": true, "user_id": "UBOT", "team_id": "TFAKE", "bot_id": "BFAKE"}
	case "chat.postMessage":
		res = s.postMessage(p)
	case "chat.update":
		res = s.update(p)
	case "chat.postEphemeral":
		res = s.postEphemeral(p)
	case "chat.getPermalink":
		res = s.permalink(p)
	case "conversations.history":
		res = s.history(p)
	case "files.getUploadURLExternal":
		res = s.getUploadURL(p)
	case "files.completeUploadExternal":
		res = s.completeUpload(p)
	case "views.publish":
		res = s.viewsPublish(p)
	case "views.open":
		res = s.viewsOpen(p)
	case "views.update":
		res = s.viewsUpdate(p)
	case "conversations.replies":
		res = s.replies(p)
	case "conversations.info":
		if name, ok := s.channels[p["channel"]]; ok {
			res = apiResult{"ok": true, "channel": map[string]any{"id": p["channel"], "name": name, "is_channel": true, "is_member": true}}
		} else {
			res = fail("channel_not_found")
		}
	case "usergroups.users.list":
		if m, ok := s.groups[p["usergroup"]]; ok {
			res = apiResult{"ok": true, "users": m}
		} else {
			res = fail("no_such_subteam")
		}
	case "users.info":
		if name, ok := s.users[p["user"]]; ok {
			res = apiResult{"ok": true, "user": map[string]any{"id": p["user"], "name": name, "real_name": name,
				"profile": map[string]any{"real_name": name, "email": s.emails[p["user"]]}}}
		} else {
			res = fail("user_not_found")
		}
	default:
		res = fail("unknown_method")
	}
	writeJSON(w, res)
}

// nextTS is Slack's "seconds.micros" message id: wall-clock based and
// strictly increasing per workspace.
func (s *Server) nextTS() string {
	s.clock = max(s.clock+100, time.Now().UnixMicro())
	return fmt.Sprintf("%d.%06d", s.clock/1_000_000, s.clock%1_000_000)
}

func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.messages[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// content validates text/blocks/metadata shared by post and update.
func content(p map[string]string) (string, json.RawMessage, *Metadata, apiResult) {
	text, blocks := p["text"], p["blocks"]
	if text == "" && blocks == "" {
		return "", nil, nil, fail("no_text")
	}
	if len([]rune(text)) > MaxMessageText {
		text = string([]rune(text)[:MaxMessageText])
	}
	var raw json.RawMessage
	if blocks != "" {
		if err := ValidateBlocks([]byte(blocks)); err != nil {
			r := fail("invalid_blocks")
			r["response_metadata"] = map[string]any{"messages": []string{"[ERROR] " + err.Error()}}
			return "", nil, nil, r
		}
		raw = json.RawMessage(blocks)
	}
	var md *Metadata
	if v := p["metadata"]; v != "" {
		md = &Metadata{}
		if err := json.Unmarshal([]byte(v), md); err != nil || md.EventType == "" {
			return "", nil, nil, fail("invalid_metadata_format")
		}
	}
	return text, raw, md, nil
}

func (s *Server) postMessage(p map[string]string) apiResult {
	ch := p["channel"]
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	text, blocks, md, bad := content(p)
	if bad != nil {
		return bad
	}
	if th := p["thread_ts"]; th != "" {
		parent := s.find(ch, th)
		if parent == nil || parent.ThreadTS != "" {
			return fail("thread_not_found")
		}
	}
	s.sent = append(s.sent, text, string(blocks))
	m := &Message{Channel: ch, TS: s.nextTS(), ThreadTS: p["thread_ts"], Text: text, Blocks: blocks, Metadata: md, ByBot: true}
	s.messages[ch] = append(s.messages[ch], m)
	s.changedLocked()
	return apiResult{"ok": true, "channel": ch, "ts": m.TS, "message": map[string]any{"text": text, "ts": m.TS}}
}

func (s *Server) update(p map[string]string) apiResult {
	ch := p["channel"]
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	m := s.find(ch, p["ts"])
	if m == nil {
		return fail("message_not_found")
	}
	if !m.ByBot {
		return fail("cant_update_message")
	}
	text, blocks, md, bad := content(p)
	if bad != nil {
		return bad
	}
	s.sent = append(s.sent, text, string(blocks))
	m.Text, m.Blocks, m.Edits = text, blocks, m.Edits+1
	if md != nil {
		m.Metadata = md
	}
	s.changedLocked()
	return apiResult{"ok": true, "channel": ch, "ts": m.TS, "text": text}
}

func (s *Server) postEphemeral(p map[string]string) apiResult {
	ch := p["channel"]
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	if _, ok := s.users[p["user"]]; !ok {
		return fail("user_not_in_channel")
	}
	text, blocks, _, bad := content(p)
	if bad != nil {
		return bad
	}
	s.sent = append(s.sent, text, string(blocks))
	s.ephemeral = append(s.ephemeral, Ephemeral{Channel: ch, User: p["user"], Text: text, Blocks: blocks})
	s.changedLocked()
	return apiResult{"ok": true, "message_ts": s.nextTS()}
}

func (s *Server) permalink(p map[string]string) apiResult {
	m := s.find(p["channel"], p["message_ts"])
	if m == nil {
		return fail("message_not_found")
	}
	link := fmt.Sprintf("https://fake.slack.test/archives/%s/p%s", m.Channel, strings.ReplaceAll(m.TS, ".", ""))
	if m.ThreadTS != "" {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + m.Channel
	}
	return apiResult{"ok": true, "channel": m.Channel, "permalink": link}
}

func (s *Server) responseURL(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var m map[string]any
	if err != nil || json.Unmarshal(body, &m) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.respUses[id] >= 5 { // response_url: at most 5 uses
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	if b, ok := m["blocks"]; ok {
		raw, _ := json.Marshal(b)
		if err := ValidateBlocks(raw); err != nil {
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
	}
	s.respUses[id]++
	s.sent = append(s.sent, string(body))
	s.responses = append(s.responses, ResponseURLPost{Token: id, Body: m})
	s.changedLocked()
	_, _ = io.WriteString(w, "ok")
}

package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// View is a modal someone was shown (views.open), as last updated
// (views.update).
type View struct {
	ID              string
	User            string // who the trigger belonged to
	CallbackID      string
	PrivateMetadata string
	Raw             json.RawMessage
	Hash            string // changes on every update
	Updates         int
}

// TriggerTTL is how long a trigger_id may be used (Slack: 3 seconds).
var TriggerTTL = 3 * time.Second

// Trigger issues a trigger_id for user, as Slack puts one in every
// interaction payload; views.open accepts it once, within TriggerTTL.
func (s *Server) Trigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.triggers == nil {
		s.triggers = map[string]trigger{}
	}
	id := fmt.Sprintf("%d.%d.%x", time.Now().Unix(), len(s.triggers)+1, time.Now().UnixNano())
	s.triggers[id] = trigger{user: user, at: time.Now()}
	return id
}

type trigger struct {
	user string
	at   time.Time
	used bool
}

// Views returns the modals opened so far.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]View(nil), s.views...)
}

// viewsOpen answers views.open: a known, fresh, unused trigger_id and a
// modal within Slack's limits.
func (s *Server) viewsOpen(p map[string]string) apiResult {
	t, ok := s.triggers[p["trigger_id"]]
	switch {
	case p["trigger_id"] == "":
		return fail("invalid_arguments")
	case !ok || t.used || time.Since(t.at) > TriggerTTL:
		return fail("expired_trigger_id")
	}
	raw := p["view"]
	if raw == "" {
		return fail("invalid_arguments")
	}
	var v modal
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fail("invalid_json")
	}
	if err := v.check(); err != nil {
		r := fail("invalid_arguments")
		r["response_metadata"] = map[string]any{"messages": []string{"[ERROR] " + err.Error()}}
		return r
	}
	t.used = true
	s.triggers[p["trigger_id"]] = t
	id := fmt.Sprintf("V%07d", len(s.views)+1)
	hash := fmt.Sprintf("%d.%x", time.Now().Unix(), len(s.views)+1)
	s.views = append(s.views, View{ID: id, User: t.user, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Raw: json.RawMessage(raw), Hash: hash})
	s.changedLocked()
	return apiResult{"ok": true, "view": map[string]any{"id": id, "type": "modal", "callback_id": v.CallbackID, "hash": hash}}
}

// viewsUpdate answers views.update: a view that was opened, the hash it
// has now when one is given (else hash_conflict), a modal within Slack's
// limits; the hash changes.
func (s *Server) viewsUpdate(p map[string]string) apiResult {
	i := slices.IndexFunc(s.views, func(v View) bool { return v.ID == p["view_id"] })
	switch {
	case p["view_id"] == "" || p["view"] == "":
		return fail("invalid_arguments")
	case i < 0:
		return fail("not_found")
	case p["hash"] != "" && p["hash"] != s.views[i].Hash:
		return fail("hash_conflict")
	}
	var v modal
	if err := json.Unmarshal([]byte(p["view"]), &v); err != nil {
		return fail("invalid_json")
	}
	if err := v.check(); err != nil {
		r := fail("invalid_arguments")
		r["response_metadata"] = map[string]any{"messages": []string{"[ERROR] " + err.Error()}}
		return r
	}
	cur := &s.views[i]
	cur.Updates++
	cur.Hash = fmt.Sprintf("%s.u%d", cur.Hash, cur.Updates)
	cur.Raw, cur.CallbackID, cur.PrivateMetadata = json.RawMessage(p["view"]), v.CallbackID, v.PrivateMetadata
	s.changedLocked()
	return apiResult{"ok": true, "view": map[string]any{"id": cur.ID, "type": "modal", "callback_id": v.CallbackID, "hash": cur.Hash}}
}

// modal is a modal view as views.open receives it.
type modal struct {
	Type            string          `json:"type"`
	Title           *textObj        `json:"title"`
	Submit          *textObj        `json:"submit"`
	Close           *textObj        `json:"close"`
	Blocks          json.RawMessage `json:"blocks"`
	CallbackID      string          `json:"callback_id"`
	PrivateMetadata string          `json:"private_metadata"`
}

// check checks a modal as Slack does: title, submit and close plain
// text of at most 24 characters (submit required with input blocks), at
// most 100 blocks, callback_id 255, private_metadata 3000.
func (m *modal) check() error {
	typ, title, submit, closeText, blocks, callbackID, meta := m.Type, m.Title, m.Submit, m.Close, m.Blocks, m.CallbackID, m.PrivateMetadata
	if typ != "modal" {
		return fmt.Errorf("view type must be modal")
	}
	if err := checkText(title, "title", 24, true); err != nil {
		return err
	}
	for name, t := range map[string]*textObj{"submit": submit, "close": closeText} {
		if t != nil {
			if err := checkText(t, name, 24, true); err != nil {
				return err
			}
		}
	}
	if len(callbackID) > 255 || len(meta) > 3000 {
		return fmt.Errorf("callback_id or private_metadata too long")
	}
	var bs []struct {
		Type     string          `json:"type"`
		BlockID  string          `json:"block_id"`
		Label    *textObj        `json:"label"`
		Element  json.RawMessage `json:"element"`
		Optional bool            `json:"optional"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil || len(bs) == 0 || len(bs) > 100 {
		return fmt.Errorf("blocks must be 1..100 blocks")
	}
	var rest []json.RawMessage
	var raw []json.RawMessage
	_ = json.Unmarshal(blocks, &raw)
	inputs := 0
	for i, b := range bs {
		if b.Type != "input" {
			rest = append(rest, raw[i])
			continue
		}
		inputs++
		if err := checkText(b.Label, fmt.Sprintf("blocks[%d].label", i), 2000, true); err != nil {
			return err
		}
		if err := checkInput(b.Element); err != nil {
			return fmt.Errorf("blocks[%d].element: %w", i, err)
		}
	}
	if inputs > 0 && submit == nil {
		return fmt.Errorf("a modal with input blocks needs submit")
	}
	if len(rest) > 0 {
		b, _ := json.Marshal(rest)
		if err := ValidateBlocks(b); err != nil {
			return err
		}
	}
	if strings.TrimSpace(title.Text) == "" {
		return fmt.Errorf("title must not be blank")
	}
	return nil
}

// checkInput checks an input block's element: a plain_text_input
// (lengths, initial_value within max_length), a users_select or a
// static_select (1 to 100 options, text 75 and value 150 characters,
// unique values, an initial option among them).
func checkInput(raw json.RawMessage) error {
	var el struct {
		Type          string   `json:"type"`
		ActionID      string   `json:"action_id"`
		MinLength     int      `json:"min_length"`
		MaxLength     int      `json:"max_length"`
		InitialValue  string   `json:"initial_value"`
		Placeholder   *textObj `json:"placeholder"`
		Options       []option `json:"options"`
		InitialOption *option  `json:"initial_option"`
		InitialUser   string   `json:"initial_user"`
	}
	if err := json.Unmarshal(raw, &el); err != nil {
		return fmt.Errorf("not an element")
	}
	if el.ActionID == "" || len(el.ActionID) > MaxIDLength {
		return fmt.Errorf("bad action_id")
	}
	if el.Placeholder != nil {
		if err := checkText(el.Placeholder, "placeholder", 150, true); err != nil {
			return err
		}
	}
	switch el.Type {
	case "plain_text_input":
		if el.MaxLength > 3000 || el.MinLength > 3000 || (el.MaxLength > 0 && el.MinLength > el.MaxLength) {
			return fmt.Errorf("bad lengths")
		}
		if n := utf8.RuneCountInString(el.InitialValue); n > 3000 || (el.MaxLength > 0 && n > el.MaxLength) {
			return fmt.Errorf("initial_value longer than max_length")
		}
	case "users_select":
		if el.InitialUser != "" && !strings.HasPrefix(el.InitialUser, "U") && !strings.HasPrefix(el.InitialUser, "W") {
			return fmt.Errorf("initial_user is not a user id")
		}
	case "static_select":
		if len(el.Options) == 0 || len(el.Options) > 100 {
			return fmt.Errorf("static_select needs 1 to 100 options")
		}
		seen := map[string]bool{}
		for j, o := range el.Options {
			if err := checkText(o.Text, fmt.Sprintf("options[%d].text", j), 75, true); err != nil {
				return err
			}
			if o.Value == "" || len(o.Value) > 150 || seen[o.Value] {
				return fmt.Errorf("options[%d].value empty, over 150 characters or repeated", j)
			}
			seen[o.Value] = true
		}
		if el.InitialOption != nil && !seen[el.InitialOption.Value] {
			return fmt.Errorf("initial_option is not one of the options")
		}
	default:
		return fmt.Errorf("only plain_text_input, users_select and static_select are supported here")
	}
	return nil
}

type option struct {
	Text  *textObj `json:"text"`
	Value string   `json:"value"`
}

// ValidateView checks a modal view's JSON as views.open does.
func ValidateView(raw []byte) error {
	var v modal
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("invalid view JSON")
	}
	return v.check()
}

// Home returns the App Home tab last published for user ("" if none).
func (s *Server) Home(user string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.homes[user]
}

// viewsPublish answers views.publish: a known user, a home view within
// Block Kit's limits (100 blocks).
func (s *Server) viewsPublish(p map[string]string) apiResult {
	user := p["user_id"]
	if user == "" || p["view"] == "" {
		return fail("invalid_arguments")
	}
	if _, ok := s.users[user]; !ok {
		return fail("user_not_found")
	}
	var v struct {
		Type            string          `json:"type"`
		Blocks          json.RawMessage `json:"blocks"`
		PrivateMetadata string          `json:"private_metadata"`
	}
	if err := json.Unmarshal([]byte(p["view"]), &v); err != nil {
		return fail("invalid_json")
	}
	var blocks []json.RawMessage
	if v.Type != "home" || json.Unmarshal(v.Blocks, &blocks) != nil || len(blocks) > 100 || len(v.PrivateMetadata) > 3000 {
		return fail("invalid_arguments")
	}
	if len(blocks) > 0 {
		if err := ValidateBlocks(v.Blocks); err != nil {
			r := fail("invalid_arguments")
			r["response_metadata"] = map[string]any{"messages": []string{"[ERROR] " + err.Error()}}
			return r
		}
	}
	if s.homes == nil {
		s.homes = map[string]json.RawMessage{}
	}
	s.homes[user] = json.RawMessage(p["view"])
	s.sent = append(s.sent, string(v.Blocks))
	s.changedLocked()
	return apiResult{"ok": true, "view": map[string]any{"id": "VHOME" + user, "type": "home"}}
}

package fakeslack

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits the real API enforces (see shared API facts).
const (
	MaxBlocks          = 50
	MaxSectionText     = 3000
	MaxSectionFields   = 10
	MaxFieldText       = 2000
	MaxHeaderText      = 150
	MaxContextElements = 10
	MaxActionsElements = 25
	MaxButtonText      = 75
	MaxButtonValue     = 2000
	MaxButtonURL       = 3000
	MaxIDLength        = 255
	MaxMessageText     = 40000
)

type textObj struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji *bool  `json:"emoji,omitempty"`
}

type element struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"`
	ActionID string          `json:"action_id"`
	Value    string          `json:"value"`
	URL      string          `json:"url"`
	Style    string          `json:"style"`
	ImageURL string          `json:"image_url"`
	AltText  string          `json:"alt_text"`
	Confirm  *struct {
		Title   *textObj `json:"title"`
		Text    *textObj `json:"text"`
		Confirm *textObj `json:"confirm"`
		Deny    *textObj `json:"deny"`
	} `json:"confirm"`
}

type block struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Elements  []json.RawMessage `json:"elements"`
	Accessory json.RawMessage   `json:"accessory"`
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func checkText(t *textObj, where string, max int, plainOnly bool) error {
	if t == nil {
		return fmt.Errorf("%s: missing text object", where)
	}
	if t.Type != "plain_text" && t.Type != "mrkdwn" {
		return fmt.Errorf("%s: text type must be plain_text or mrkdwn, got %q", where, t.Type)
	}
	if plainOnly && t.Type != "plain_text" {
		return fmt.Errorf("%s: must be plain_text", where)
	}
	if t.Text == "" {
		return fmt.Errorf("%s: text must not be empty", where)
	}
	if runes(t.Text) > max {
		return fmt.Errorf("%s: text is %d characters, max %d", where, runes(t.Text), max)
	}
	return nil
}

func checkElement(raw json.RawMessage, where string, actionIDs map[string]bool, interactiveOnly bool) error {
	var e element
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("%s: invalid element JSON", where)
	}
	switch e.Type {
	case "button":
		var t textObj
		if err := json.Unmarshal(e.Text, &t); err != nil {
			return fmt.Errorf("%s: button text invalid", where)
		}
		if err := checkText(&t, where+".text", MaxButtonText, true); err != nil {
			return err
		}
		if len(e.Value) > MaxButtonValue {
			return fmt.Errorf("%s: button value longer than %d", where, MaxButtonValue)
		}
		if len(e.URL) > MaxButtonURL {
			return fmt.Errorf("%s: button url longer than %d", where, MaxButtonURL)
		}
		if e.Style != "" && e.Style != "primary" && e.Style != "danger" {
			return fmt.Errorf("%s: button style %q", where, e.Style)
		}
		if c := e.Confirm; c != nil { // a confirmation dialog: title 100, text 300, buttons 30
			for _, x := range []struct {
				t     *textObj
				name  string
				max   int
				plain bool
			}{{c.Title, "title", 100, true}, {c.Text, "text", 300, false}, {c.Confirm, "confirm", 30, true}, {c.Deny, "deny", 30, true}} {
				if err := checkText(x.t, where+".confirm."+x.name, x.max, x.plain); err != nil {
					return err
				}
			}
		}
		if len(e.ActionID) > MaxIDLength {
			return fmt.Errorf("%s: action_id longer than %d", where, MaxIDLength)
		}
		if e.ActionID != "" {
			if actionIDs[e.ActionID] {
				return fmt.Errorf("%s: duplicate action_id %q", where, e.ActionID)
			}
			actionIDs[e.ActionID] = true
		}
	case "plain_text", "mrkdwn":
		if interactiveOnly {
			return fmt.Errorf("%s: %s not allowed in actions", where, e.Type)
		}
		var t textObj
		_ = json.Unmarshal(raw, &t)
		return checkText(&t, where, MaxSectionText, false)
	case "image":
		if interactiveOnly {
			return fmt.Errorf("%s: image not allowed in actions", where)
		}
		if e.ImageURL == "" || e.AltText == "" {
			return fmt.Errorf("%s: image needs image_url and alt_text", where)
		}
	default:
		return fmt.Errorf("%s: unsupported element type %q", where, e.Type)
	}
	return nil
}

// ValidateBlocks checks a message's blocks JSON against Block Kit's rules
// and limits, independently of the code that built it.
func ValidateBlocks(raw []byte) error {
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Errorf("blocks is not a JSON array of blocks")
	}
	if len(blocks) > MaxBlocks {
		return fmt.Errorf("%d blocks, max %d", len(blocks), MaxBlocks)
	}
	blockIDs := map[string]bool{}
	actionIDs := map[string]bool{}
	for i, b := range blocks {
		where := fmt.Sprintf("blocks[%d]", i)
		if len(b.BlockID) > MaxIDLength {
			return fmt.Errorf("%s: block_id longer than %d", where, MaxIDLength)
		}
		if b.BlockID != "" {
			if blockIDs[b.BlockID] {
				return fmt.Errorf("%s: duplicate block_id %q", where, b.BlockID)
			}
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return fmt.Errorf("%s: section needs text or fields", where)
			}
			if b.Text != nil {
				if err := checkText(b.Text, where+".text", MaxSectionText, false); err != nil {
					return err
				}
			}
			if len(b.Fields) > MaxSectionFields {
				return fmt.Errorf("%s: %d fields, max %d", where, len(b.Fields), MaxSectionFields)
			}
			for j := range b.Fields {
				if err := checkText(&b.Fields[j], fmt.Sprintf("%s.fields[%d]", where, j), MaxFieldText, false); err != nil {
					return err
				}
			}
			if len(b.Accessory) > 0 {
				if err := checkElement(b.Accessory, where+".accessory", actionIDs, false); err != nil {
					return err
				}
			}
		case "header":
			if err := checkText(b.Text, where+".text", MaxHeaderText, true); err != nil {
				return err
			}
		case "divider":
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > MaxContextElements {
				return fmt.Errorf("%s: context needs 1..%d elements, has %d", where, MaxContextElements, len(b.Elements))
			}
			for j, e := range b.Elements {
				if err := checkElement(e, fmt.Sprintf("%s.elements[%d]", where, j), actionIDs, false); err != nil {
					return err
				}
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > MaxActionsElements {
				return fmt.Errorf("%s: actions needs 1..%d elements, has %d", where, MaxActionsElements, len(b.Elements))
			}
			for j, e := range b.Elements {
				if err := checkElement(e, fmt.Sprintf("%s.elements[%d]", where, j), actionIDs, true); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%s: unsupported block type %q", where, b.Type)
		}
	}
	return nil
}

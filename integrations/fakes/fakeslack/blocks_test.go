package fakeslack

import (
	"fmt"
	"strings"
	"testing"
)

func section(text string) string {
	return fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":%q}}`, text)
}

func blocks(bs ...string) []byte { return []byte("[" + strings.Join(bs, ",") + "]") }

func TestValidateBlocksLimits(t *testing.T) {
	fifty := make([]string, 50)
	for i := range fifty {
		fifty[i] = `{"type":"divider"}`
	}
	ok := map[string][]byte{
		"50 blocks":         blocks(fifty...),
		"3000-char section": blocks(section(strings.Repeat("é", 3000))),
		"150-char header":   blocks(`{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 150) + `"}}`),
		"button":            blocks(`{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"Approve"},"value":"v","style":"primary"}]}`),
	}
	for name, b := range ok {
		if err := ValidateBlocks(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string][]byte{
		"51 blocks":         blocks(append(fifty, `{"type":"divider"}`)...),
		"3001-char section": blocks(section(strings.Repeat("x", 3001))),
		"151-char header":   blocks(`{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}`),
		"mrkdwn header":     blocks(`{"type":"header","text":{"type":"mrkdwn","text":"x"}}`),
		"11 fields":         blocks(`{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"f"},`, 11), ",") + `]}`),
		"2001-char field":   blocks(`{"type":"section","fields":[{"type":"mrkdwn","text":"` + strings.Repeat("f", 2001) + `"}]}`),
		"empty section":     blocks(`{"type":"section"}`),
		"empty text":        blocks(section("")),
		"76-char button":    blocks(`{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"` + strings.Repeat("b", 76) + `"}}]}`),
		"dup action_id":     blocks(`{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"y"}}]}`),
		"dup block_id":      blocks(`{"type":"divider","block_id":"b"}`, `{"type":"divider","block_id":"b"}`),
		"256-char block_id": blocks(`{"type":"divider","block_id":"` + strings.Repeat("i", 256) + `"}`),
		"11 context elems":  blocks(`{"type":"context","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"c"},`, 11), ",") + `]}`),
		"empty context":     blocks(`{"type":"context","elements":[]}`),
		"26 actions":        blocks(`{"type":"actions","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"button","text":{"type":"plain_text","text":"x"}},`, 26), ",") + `]}`),
		"unknown block":     blocks(`{"type":"carousel"}`),
		"bad style":         blocks(`{"type":"actions","elements":[{"type":"button","style":"loud","text":{"type":"plain_text","text":"x"}}]}`),
		"not an array":      []byte(`{"type":"divider"}`),
		"text in actions":   blocks(`{"type":"actions","elements":[{"type":"mrkdwn","text":"x"}]}`),
	}
	for name, b := range bad {
		if err := ValidateBlocks(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

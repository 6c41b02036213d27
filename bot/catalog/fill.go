package catalog

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"
)

// Fill executes a slot template with params, each value passed through
// escape first (nil: as is).
func Fill(slot string, params map[string]string, escape func(string) string) (string, error) {
	data := make(map[string]string, len(params))
	for k, v := range params {
		if escape != nil {
			v = escape(v)
		}
		data[k] = v
	}
	t, err := template.New("slot").Option("missingkey=error").Parse(slot)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// FillJSON fills a JSON body template: each value JSON-encoded as the
// inside of a JSON string (a value ending in a quote or a backslash stays
// inside its string).
func FillJSON(slot string, params map[string]string) (string, error) {
	return Fill(slot, params, jsonString)
}

func jsonString(v string) string {
	b, _ := json.Marshal(v)
	return string(b[1 : len(b)-1]) // the quotes json.Marshal added, exactly
}

// PromQLString escapes v for the inside of a double-quoted PromQL string
// (Go's escaping rules, which PromQL follows).
func PromQLString(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

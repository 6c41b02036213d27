package fakeslack

import (
	"sort"
	"strconv"
)

// history answers conversations.history: top-level messages newest first
// since oldest, paged by cursor; metadata only when asked for.
func (s *Server) history(p map[string]string) apiResult {
	ch := p["channel"]
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	oldest := 0.0
	if v := p["oldest"]; v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fail("invalid_ts_oldest")
		}
		oldest = f
	}
	limit := 100
	if v := p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail("invalid_limit")
		}
		limit = min(n, 999)
	}
	meta := p["include_all_metadata"] == "true" || p["include_all_metadata"] == "1"
	var top []*Message
	for _, m := range s.messages[ch] {
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if m.ThreadTS == "" && ts >= oldest {
			top = append(top, m)
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].TS > top[j].TS }) // newest first
	start := 0
	if c := p["cursor"]; c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(top) {
			return fail("invalid_cursor")
		}
		start = n
	}
	end := min(start+limit, len(top))
	msgs := []map[string]any{}
	for _, m := range top[start:end] {
		mm := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "BFAKE"}
		if meta && m.Metadata != nil {
			mm["metadata"] = m.Metadata
		}
		msgs = append(msgs, mm)
	}
	res := apiResult{"ok": true, "messages": msgs, "has_more": end < len(top)}
	if end < len(top) {
		res["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(end)}
	}
	return res
}

// replies answers conversations.replies: the parent first, then its
// replies oldest first, paged by cursor; metadata only when asked for.
func (s *Server) replies(p map[string]string) apiResult {
	ch := p["channel"]
	if _, ok := s.channels[ch]; !ok {
		return fail("channel_not_found")
	}
	if p["ts"] == "" {
		return fail("invalid_arguments")
	}
	parent := s.find(ch, p["ts"])
	if parent == nil {
		return fail("thread_not_found")
	}
	if parent.ThreadTS != "" { // asked with a reply's ts: Slack answers for its thread
		parent = s.find(ch, parent.ThreadTS)
	}
	limit := 100
	if v := p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail("invalid_limit")
		}
		limit = min(n, 1000)
	}
	all := []*Message{parent}
	for _, m := range s.messages[ch] {
		if m.ThreadTS == parent.TS {
			all = append(all, m)
		}
	}
	sort.SliceStable(all[1:], func(i, j int) bool { return all[1+i].TS < all[1+j].TS })
	start := 0
	if c := p["cursor"]; c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(all) {
			return fail("invalid_cursor")
		}
		start = n
	}
	meta := p["include_all_metadata"] == "true" || p["include_all_metadata"] == "1"
	end := min(start+limit, len(all))
	msgs := []map[string]any{}
	for _, m := range all[start:end] {
		mm := map[string]any{"type": "message", "ts": m.TS, "thread_ts": parent.TS, "text": m.Text, "bot_id": "BFAKE"}
		if meta && m.Metadata != nil {
			mm["metadata"] = m.Metadata
		}
		msgs = append(msgs, mm)
	}
	res := apiResult{"ok": true, "messages": msgs, "has_more": end < len(all)}
	if end < len(all) {
		res["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(end)}
	}
	return res
}

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
	var top []*Message
	for _, m := range s.messages[ch] {
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if m.ThreadTS == "" && ts >= oldest {
			top = append(top, m)
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].TS > top[j].TS }) // newest first
	return page(p, top, 999, "")
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
	all := []*Message{parent}
	for _, m := range s.messages[ch] {
		if m.ThreadTS == parent.TS {
			all = append(all, m)
		}
	}
	sort.SliceStable(all[1:], func(i, j int) bool { return all[1+i].TS < all[1+j].TS })
	return page(p, all, 1000, parent.TS)
}

// page answers one page of list by the request's limit (default 100, at
// most maxLimit) and cursor (an offset), as history and replies do;
// metadata only with include_all_metadata; threadTS, when set, is every
// message's thread_ts.
func page(p map[string]string, list []*Message, maxLimit int, threadTS string) apiResult {
	limit := 100
	if v := p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail("invalid_limit")
		}
		limit = min(n, maxLimit)
	}
	start := 0
	if c := p["cursor"]; c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(list) {
			return fail("invalid_cursor")
		}
		start = n
	}
	meta := p["include_all_metadata"] == "true" || p["include_all_metadata"] == "1"
	end := min(start+limit, len(list))
	msgs := []map[string]any{}
	for _, m := range list[start:end] {
		mm := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "BFAKE"}
		if threadTS != "" {
			mm["thread_ts"] = threadTS
		}
		if meta && m.Metadata != nil {
			mm["metadata"] = m.Metadata
		}
		msgs = append(msgs, mm)
	}
	res := apiResult{"ok": true, "messages": msgs, "has_more": end < len(list)}
	if end < len(list) {
		res["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(end)}
	}
	return res
}

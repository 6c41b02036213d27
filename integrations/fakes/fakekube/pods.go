package fakekube

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Pod is a fake pod with its current and previous container logs.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	Logs, Previous  []LogLine // Previous nil: the container never restarted
}

// LogLine is one line of a container's log.
type LogLine struct {
	Time time.Time
	Line string
}

// AddPod stores pods (listed by label selector, their logs read with
// sinceTime, limitBytes, timestamps and previous as the API server does).
func (s *Server) AddPod(p ...Pod) { s.mu.Lock(); s.podList = append(s.podList, p...); s.mu.Unlock() }

// pods serves api/v1/namespaces/{ns}/pods[/{name}/log].
func (s *Server) pods(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// api/v1/namespaces/{ns}/pods[/{name}/log]
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" || parts[4] != "pods" {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	ns := parts[3]
	s.mu.Lock()
	pods := append([]Pod(nil), s.podList...)
	s.mu.Unlock()
	if len(parts) == 5 {
		var sel map[string]string
		if s := r.URL.Query().Get("labelSelector"); s != "" {
			sel = map[string]string{}
			for _, term := range strings.Split(s, ",") {
				kv, v, ok := strings.Cut(term, "=")
				if !ok {
					status(w, http.StatusBadRequest, "BadRequest", "unable to parse requirement: "+term)
					return
				}
				sel[strings.TrimSpace(kv)] = strings.TrimPrefix(strings.TrimSpace(v), "=")
			}
		}
		items := []any{}
		for _, p := range pods {
			ok := p.Namespace == ns
			for key, v := range sel {
				ok = ok && p.Labels[key] == v
			}
			if ok {
				items = append(items, map[string]any{"metadata": map[string]any{"name": p.Name, "namespace": ns, "labels": p.Labels}})
			}
		}
		write(w, map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items})
		return
	}
	if len(parts) != 7 || parts[6] != "log" {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	var pod *Pod
	for i := range pods {
		if pods[i].Namespace == ns && pods[i].Name == parts[5] {
			pod = &pods[i]
		}
	}
	if pod == nil {
		status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("pods %q not found", parts[5]))
		return
	}
	q := r.URL.Query()
	logs := pod.Logs
	if q.Get("previous") == "true" {
		if pod.Previous == nil {
			status(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("previous terminated container %q in pod %q not found", "app", pod.Name))
			return
		}
		logs = pod.Previous
	}
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			status(w, http.StatusBadRequest, "BadRequest", "sinceTime: "+err.Error())
			return
		}
		since = t
	}
	limit := -1
	if s := q.Get("limitBytes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			status(w, http.StatusUnprocessableEntity, "Invalid", "limitBytes: must be greater than 0")
			return
		}
		limit = n
	}
	sort.SliceStable(logs, func(i, j int) bool { return logs[i].Time.Before(logs[j].Time) })
	var b strings.Builder
	for _, e := range logs {
		if e.Time.Before(since) {
			continue
		}
		if q.Get("timestamps") == "true" {
			b.WriteString(e.Time.UTC().Format(time.RFC3339Nano) + " ")
		}
		b.WriteString(e.Line + "\n")
	}
	out := b.String()
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(out))
}

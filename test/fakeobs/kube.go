package fakeobs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pod is a fake pod with its current and previous container logs.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	Logs, Previous  []Entry // Previous nil: the container never restarted
}

// Kube fakes the API server's pod list and pod log endpoints.
type Kube struct {
	*httptest.Server
	Token string
	mu    sync.Mutex
	pods  []Pod
}

// NewKube starts the fake; requests must carry Bearer token.
func NewKube(token string) *Kube {
	k := &Kube{Token: token}
	k.Server = httptest.NewServer(http.HandlerFunc(k.serve))
	return k
}

// Add stores pods.
func (k *Kube) Add(p ...Pod) { k.mu.Lock(); k.pods = append(k.pods, p...); k.mu.Unlock() }

func kubeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}

func (k *Kube) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+k.Token {
		kubeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// api/v1/namespaces/{ns}/pods[/{name}/log]
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" || parts[4] != "pods" {
		kubeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	ns := parts[3]
	k.mu.Lock()
	pods := append([]Pod(nil), k.pods...)
	k.mu.Unlock()
	if len(parts) == 5 {
		var sel map[string]string
		if s := r.URL.Query().Get("labelSelector"); s != "" {
			sel = map[string]string{}
			for _, term := range strings.Split(s, ",") {
				kv, v, ok := strings.Cut(term, "=")
				if !ok {
					kubeStatus(w, http.StatusBadRequest, "BadRequest", "unable to parse requirement: "+term)
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
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items})
		return
	}
	if len(parts) != 7 || parts[6] != "log" {
		kubeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	var pod *Pod
	for i := range pods {
		if pods[i].Namespace == ns && pods[i].Name == parts[5] {
			pod = &pods[i]
		}
	}
	if pod == nil {
		kubeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("pods %q not found", parts[5]))
		return
	}
	q := r.URL.Query()
	logs := pod.Logs
	if q.Get("previous") == "true" {
		if pod.Previous == nil {
			kubeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("previous terminated container %q in pod %q not found", "app", pod.Name))
			return
		}
		logs = pod.Previous
	}
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			kubeStatus(w, http.StatusBadRequest, "BadRequest", "sinceTime: "+err.Error())
			return
		}
		since = t
	}
	limit := -1
	if s := q.Get("limitBytes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			kubeStatus(w, http.StatusUnprocessableEntity, "Invalid", "limitBytes: must be greater than 0")
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

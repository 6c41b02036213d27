// Package fakekube is a small, stateful Kubernetes API server for tests
// (the real kubectl, and the pod-log context source) and the demo: legacy
// discovery (/api, /apis, resource lists), apps/v1 Deployments (GET,
// strategic-merge PATCH of metadata and pod-template annotations, the scale
// subresource), pods and their logs, bearer-token auth over TLS,
// server-side dry run (?dryRun=All changes nothing) and Status errors as
// the API server returns them.
package fakekube

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Server is the fake API server.
type Server struct {
	*httptest.Server
	token string

	mu          sync.Mutex
	deployments map[string]map[string]any // "ns/name" → object
	patches     []string                  // "ns/name dryRun=<bool>" per PATCH
	podList     []Pod
}

// New starts a TLS server that accepts only the bearer token (kubectl
// sends tokens only over TLS).
func New(token string) *Server {
	s := &Server{token: token, deployments: map[string]map[string]any{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// WriteCA writes the server's certificate as PEM into dir and returns the
// file's path (for kubectl --certificate-authority).
func (s *Server) WriteCA(dir string) (string, error) {
	path := filepath.Join(dir, "fakekube-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return path, os.WriteFile(path, pemBytes, 0o600)
}

// AddDeployment creates a Deployment with replicas.
func (s *Server) AddDeployment(ns, name string, replicas int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deployments[ns+"/"+name] = map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns, "uid": "uid-" + name, "resourceVersion": "1", "generation": 1},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "example/" + name + ":1"}}}}},
		"status": map[string]any{"replicas": replicas, "readyReplicas": replicas, "observedGeneration": 1},
	}
}

// Deployment returns a copy of a stored Deployment (nil if none).
func (s *Server) Deployment(ns, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deployments[ns+"/"+name]
	if !ok {
		return nil
	}
	return clone(d)
}

// Patches lists the PATCH requests seen ("ns/name dryRun=true|false").
func (s *Server) Patches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.patches...)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}

func write(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var (
	apiVersions = map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
		"serverAddressByClientCIDRs": []any{map[string]any{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}}}
	apiGroups = map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
		"name": "apps", "versions": []any{map[string]any{"groupVersion": "apps/v1", "version": "v1"}},
		"preferredVersion": map[string]any{"groupVersion": "apps/v1", "version": "v1"}}}}
	coreResources = map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
		map[string]any{"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": []string{"get", "list"}, "shortNames": []string{"po"}}}}
	appsResources = map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": []any{
		map[string]any{"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
			"verbs": []string{"get", "list", "patch", "update"}, "shortNames": []string{"deploy"}},
		map[string]any{"name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling", "version": "v1",
			"kind": "Scale", "verbs": []string{"get", "patch", "update"}}}}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	switch p := r.URL.Path; {
	case p == "/version":
		write(w, map[string]any{"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"})
	case p == "/api":
		write(w, apiVersions)
	case p == "/apis":
		write(w, apiGroups)
	case p == "/api/v1":
		write(w, coreResources)
	case p == "/apis/apps/v1":
		write(w, appsResources)
	case strings.HasPrefix(p, "/api/v1/namespaces/"):
		s.pods(w, r)
	case strings.HasPrefix(p, "/apis/apps/v1/namespaces/"):
		s.deployment(w, r, strings.Split(strings.TrimPrefix(p, "/apis/apps/v1/namespaces/"), "/"))
	default:
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

// deployment serves namespaces/{ns}/deployments/{name}[/scale].
func (s *Server) deployment(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) < 3 || parts[1] != "deployments" || len(parts) > 4 || (len(parts) == 4 && parts[3] != "scale") {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	ns, name, scale := parts[0], parts[2], len(parts) == 4
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deployments[ns+"/"+name]
	if !ok {
		status(w, http.StatusNotFound, "NotFound", fmt.Sprintf(`deployments.apps %q not found`, name))
		return
	}
	switch r.Method {
	case http.MethodGet:
		if scale {
			write(w, scaleOf(d))
			return
		}
		write(w, d)
	case http.MethodPatch:
		ct := r.Header.Get("Content-Type")
		if ct != "application/strategic-merge-patch+json" && ct != "application/merge-patch+json" {
			status(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the body of the request was in an unknown format: "+ct)
			return
		}
		var patch map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&patch); err != nil {
			status(w, http.StatusBadRequest, "BadRequest", "error decoding patch: "+err.Error())
			return
		}
		dry := r.URL.Query().Get("dryRun") == "All"
		s.patches = append(s.patches, fmt.Sprintf("%s/%s dryRun=%v", ns, name, dry))
		next := clone(d)
		if scale {
			spec, _ := patch["spec"].(map[string]any)
			n, ok := spec["replicas"].(float64)
			if !ok || n < 0 {
				status(w, http.StatusUnprocessableEntity, "Invalid", "spec.replicas: Invalid value")
				return
			}
			next["spec"].(map[string]any)["replicas"] = n
		} else {
			merge(next, patch)
		}
		meta := next["metadata"].(map[string]any)
		meta["generation"] = meta["generation"].(float64) + 1
		if !dry {
			s.deployments[ns+"/"+name] = next
		}
		if scale {
			write(w, scaleOf(next))
			return
		}
		write(w, next)
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
	}
}

func scaleOf(d map[string]any) map[string]any {
	meta := d["metadata"].(map[string]any)
	return map[string]any{"kind": "Scale", "apiVersion": "autoscaling/v1",
		"metadata": map[string]any{"name": meta["name"], "namespace": meta["namespace"], "resourceVersion": meta["resourceVersion"]},
		"spec":     map[string]any{"replicas": d["spec"].(map[string]any)["replicas"]}, "status": map[string]any{"replicas": d["spec"].(map[string]any)["replicas"]}}
}

// merge applies a merge patch of maps (null deletes); enough for the
// annotation and replica patches kubectl sends here.
func merge(dst, patch map[string]any) {
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		pm, ok := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok && ok2 {
			merge(dm, pm)
			continue
		}
		dst[k] = v
	}
}

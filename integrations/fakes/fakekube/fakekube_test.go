package fakekube_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsgate/opsgate/integrations/fakes/fakekube"
)

// client trusts only the CA the fake writes (as kubectl and the pod-log
// source are given it).
func client(t *testing.T, s *fakekube.Server) *http.Client {
	t.Helper()
	path, err := s.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestFakeServesWhatTheAPIServerServes(t *testing.T) {
	s := fakekube.New("tok")
	defer s.Close()
	hc := client(t, s)
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s.AddDeployment("prod", "checkout-api", 3)
	s.AddPod(fakekube.Pod{Namespace: "prod", Name: "checkout-api-1", Labels: map[string]string{"app": "checkout-api"},
		Logs:     []fakekube.LogLine{{Time: t0, Line: "booted"}, {Time: t0.Add(time.Minute), Line: "serving"}},
		Previous: []fakekube.LogLine{{Time: t0.Add(-time.Minute), Line: "panic: nil map"}}})
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api/v1/namespaces/prod/pods", "wrong"); code != 401 || !strings.Contains(body, `"kind":"Status"`) {
		t.Fatalf("%d %s", code, body)
	}
	code, body := get("/api/v1/namespaces/prod/pods?labelSelector=app%3Dcheckout-api", "tok")
	var list struct{ Items []any }
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := get("/api/v1/namespaces/prod/pods/checkout-api-1/log?sinceTime="+t0.Add(30*time.Second).Format(time.RFC3339), "tok"); code != 200 || body != "serving\n" {
		t.Fatalf("%d %q", code, body)
	}
	if code, body := get("/api/v1/namespaces/prod/pods/checkout-api-1/log?previous=true", "tok"); code != 200 || !strings.Contains(body, "panic") {
		t.Fatalf("%d %q", code, body)
	}
	if code, _ := get("/api/v1/namespaces/prod/pods/nope/log", "tok"); code != 404 {
		t.Fatalf("an unknown pod: %d", code)
	}
	if code, body := get("/apis/apps/v1/namespaces/prod/deployments/checkout-api", "tok"); code != 200 || !strings.Contains(body, `"replicas":3`) {
		t.Fatalf("%d %s", code, body)
	}
	req, _ := http.NewRequest("PATCH", s.URL+"/apis/apps/v1/namespaces/prod/deployments/checkout-api/scale?dryRun=All", strings.NewReader(`{"spec":{"replicas":5}}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := s.Deployment("prod", "checkout-api"); fmt.Sprint(d["spec"].(map[string]any)["replicas"]) != "3" {
		t.Fatalf("a dry run changed the deployment (%d): %v", resp.StatusCode, d["spec"])
	}
	req, _ = http.NewRequest("PATCH", s.URL+"/apis/apps/v1/namespaces/prod/deployments/checkout-api/scale", strings.NewReader(`{"spec":{"replicas":5}}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := s.Deployment("prod", "checkout-api"); fmt.Sprint(d["spec"].(map[string]any)["replicas"]) != "5" {
		t.Fatalf("the patch was not applied (%d): %v", resp.StatusCode, d["spec"])
	}
}

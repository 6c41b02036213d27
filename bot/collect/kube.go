package collect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kubernetes reads pod logs through the API server: the pods matching a
// label selector in a namespace, optionally their previous (crashed)
// container. In a cluster the service account's token and CA are used.
type Kubernetes struct {
	Namespace string `yaml:"namespace"`
	Selector  string `yaml:"selector"`  // label selector, may use {{.Service}}
	Container string `yaml:"container"` // default: the pod's only container
	Previous  bool   `yaml:"previous"`  // the previous container instance (after a crash)
	MaxPods   int    `yaml:"max_pods"`  // default 5
	APIURL    string `yaml:"api_url"`   // default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
	TokenFile string `yaml:"token_file"`
	CAFile    string `yaml:"ca_file"`

	once  sync.Once
	caHC  *http.Client // built once: one transport (and its idle connections) per source
	caErr error
}

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount/"

func (k *Kubernetes) client(hc *http.Client) (string, string, *http.Client, error) {
	api := k.APIURL
	if api == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" {
			return "", "", nil, fmt.Errorf("not in a cluster and no api_url set")
		}
		api = "https://" + host + ":" + port
	}
	tokenFile, caFile := k.TokenFile, k.CAFile
	if k.APIURL == "" {
		tokenFile, caFile = orStr(tokenFile, saDir+"token"), orStr(caFile, saDir+"ca.crt")
	}
	token := ""
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", "", nil, fmt.Errorf("service account token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if caFile != "" {
		k.once.Do(func() {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				k.caErr = fmt.Errorf("cluster CA: %w", err)
				return
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				k.caErr = fmt.Errorf("cluster CA: no certificate in %s", caFile)
				return
			}
			c := *hc
			c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
				IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 4}
			k.caHC = &c
		})
		if k.caErr != nil {
			return "", "", nil, k.caErr
		}
		hc = k.caHC
	}
	return strings.TrimRight(api, "/"), token, hc, nil
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (k *Kubernetes) get(ctx context.Context, hc *http.Client, token, u string, max int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(hc, req, max)
}

func (k *Kubernetes) fetch(ctx context.Context, hc *http.Client, p Params, w Window, lim limits) ([]Line, bool, error) {
	sel, err := fill(k.Selector, p)
	if err != nil {
		return nil, false, err
	}
	api, token, hc, err := k.client(hc)
	if err != nil {
		return nil, false, err
	}
	ns := url.PathEscape(k.Namespace)
	body, err := k.get(ctx, hc, token, api+"/api/v1/namespaces/"+ns+"/pods?"+url.Values{"labelSelector": {sel}}.Encode(), 8<<20)
	if err != nil {
		return nil, false, fmt.Errorf("list pods: %w", err)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Kind != "PodList" {
		return nil, false, fmt.Errorf("list pods: not a PodList")
	}
	if len(list.Items) == 0 {
		return nil, false, fmt.Errorf("no pod in %s matches %s", k.Namespace, sel)
	}
	names := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		names = append(names, it.Metadata.Name)
	}
	sort.Strings(names)
	pods := orInt(k.MaxPods, 5)
	capped := len(names) > pods
	names = names[:min(len(names), pods)]
	per := lim.bytes / len(names)
	var all []Line
	for _, name := range names {
		q := url.Values{"timestamps": {"true"}, "sinceTime": {w.Start.UTC().Format(time.RFC3339)}, "limitBytes": {strconv.Itoa(per)}}
		if k.Previous {
			q.Set("previous", "true")
		}
		if k.Container != "" {
			q.Set("container", k.Container)
		}
		text, err := k.get(ctx, hc, token, api+"/api/v1/namespaces/"+ns+"/pods/"+url.PathEscape(name)+"/log?"+q.Encode(), per+1<<16)
		if err != nil {
			return all, capped, fmt.Errorf("logs of %s: %w", name, err)
		}
		for _, l := range splitLines(text) {
			t, rest := time.Time{}, l
			if sp := strings.IndexByte(l, ' '); sp > 0 {
				if ts, err := time.Parse(time.RFC3339Nano, l[:sp]); err == nil {
					t, rest = ts, l[sp+1:]
				}
			}
			if !t.IsZero() && t.After(w.End) {
				continue
			}
			all = append(all, Line{Time: t, Text: name + " " + rest})
		}
	}
	kp := keeper{lim: lim}
	kp.addAll(newestFirst(all))
	return kp.lines, capped || kp.capped, nil
}

// sortLines orders by time (stable; newest first when desc).
func sortLines(ls []Line, desc bool) {
	sort.SliceStable(ls, func(i, j int) bool {
		if desc {
			return ls[i].Time.After(ls[j].Time)
		}
		return ls[i].Time.Before(ls[j].Time)
	})
}

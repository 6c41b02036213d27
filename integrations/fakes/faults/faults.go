// Package faults scripts the failures of opsgate's fakes, the same way for
// every fake: the next n calls of one method (a Slack method, a PagerDuty
// route, a Gemini method) answer an HTTP status, and 429s carry
// Retry-After.
package faults

import (
	"net/http"
	"strconv"
	"sync"
)

// Fault is one scripted failure.
type Fault struct {
	Status     int // HTTP status to answer
	RetryAfter int // seconds, sent as Retry-After when > 0
}

// Plan holds the scripted failures per method. The zero value is ready.
type Plan struct {
	mu   sync.Mutex
	next map[string][]Fault
}

// FailNext makes the next n calls of method answer status; retryAfter > 0
// adds Retry-After (seconds).
func (p *Plan) FailNext(method string, n, status, retryAfter int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == nil {
		p.next = map[string][]Fault{}
	}
	for i := 0; i < n; i++ {
		p.next[method] = append(p.next[method], Fault{Status: status, RetryAfter: retryAfter})
	}
}

// Take returns the next scripted failure of method, if any.
func (p *Plan) Take(method string) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.next[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	p.next[method] = q[1:]
	return q[0], true
}

// Header sets the fault's Retry-After header on w (before WriteHeader).
func (f Fault) Header(w http.ResponseWriter) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
}

// Package pipeline runs an incident through named stages, in the manner of
// Alertmanager's notification pipeline: a triggered incident goes
//
//	seen → storm → gather → persist → sync (open the thread, post the context) → note → offer runbook steps → analyze → propose → learn
//
// and each later change goes persist → storm → backfill → sync → note → learn
// (the storm stages live in package storm: a storm member stops there). A stage
// does one thing through a few small interfaces, is idempotent (the queue
// delivers at least once; a redelivery resumes where a crash stopped), and
// records what it finished in the incident's ledger.
package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/opsgate/opsgate/bot/enrich"
	"github.com/opsgate/opsgate/bot/incident"
	"github.com/opsgate/opsgate/bot/jobs"
	"github.com/opsgate/opsgate/integrations/pagerduty"
)

// State is what the stages of one run share.
type State struct {
	IncidentID string
	Event      *pagerduty.Event // the webhook event (nil for /triage)
	Triage     *jobs.Triage     // the /triage request (nil for a webhook)
	Update     incident.Update  // the fact to record
	At         time.Time        // when the incident started, if PagerDuty does not say
	Replayed   bool             // the event was recorded before: a redelivery
	Context    *enrich.Record   // what was gathered (set by the gather stage)
	// Stop ends the run after the current stage: nothing is left to do.
	Stop bool
}

// Stage is one named step of a run.
type Stage interface {
	Name() string
	Run(ctx context.Context, st *State) error
}

// Pipeline runs stages in order until one fails or stops the run.
type Pipeline []Stage

// Run runs p on st.
func (p Pipeline) Run(ctx context.Context, st *State) error {
	for _, s := range p {
		if err := s.Run(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		if st.Stop {
			return nil
		}
	}
	return nil
}

// Tolerant runs s and logs its error instead of failing the run: for
// stages whose work a person can do by hand, or which would otherwise make
// a retry repeat what was already said.
func Tolerant(s Stage, log *slog.Logger) Stage { return tolerant{s, log} }

type tolerant struct {
	Stage
	log *slog.Logger
}

func (t tolerant) Run(ctx context.Context, st *State) error {
	if err := t.Stage.Run(ctx, st); err != nil {
		logger(t.log).Warn("stage failed; the run goes on", "stage", t.Name(), "incident", st.IncidentID, "err", err)
	}
	return nil
}

func logger(l *slog.Logger) *slog.Logger { return cmp.Or(l, slog.Default()) }

package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsgate/opsgate/bot/app"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/redact"
	"github.com/opsgate/opsgate/bot/retry"
	"github.com/opsgate/opsgate/bot/seal"
	"github.com/opsgate/opsgate/integrations/pagerduty"
	"github.com/opsgate/opsgate/knowledge/kb"
	"github.com/opsgate/opsgate/knowledge/search"
)

// kbSession opens the knowledge base on REDIS_URL (or the embedded store).
func kbSession(ctx context.Context, stderr io.Writer) (*kb.KB, *kb.Store, *redact.Engine, func(), error) {
	env, err := config.LoadEnv()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rdb, embedded, err := app.ConnectRedis(ctx, env, log)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	closeAll := func() {
		_ = rdb.Close()
		if embedded != nil {
			embedded.Close()
		}
	}
	keys := env.Keyring()
	switch {
	case keys == nil && embedded != nil:
		keys = seal.Ephemeral() // the embedded store dies with the process
	case keys == nil:
		closeAll()
		return nil, nil, nil, nil, fmt.Errorf("kb: OPSGATE_VAULT_KEY is required with REDIS_URL (tickets are encrypted with it)")
	}
	store := kb.NewStore(rdb)
	store.Keys = keys
	engine, err := engineFor(env.ConfigFile)
	if err != nil {
		closeAll()
		return nil, nil, nil, nil, err
	}
	k, err := app.OpenKB(ctx, rdb, keys, env, engine)
	if err != nil {
		closeAll()
		return nil, nil, nil, nil, err
	}
	return k, store, engine, closeAll, nil
}

func kbCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{Use: "kb", Short: "The knowledge base of past incidents, tickets, runbooks and postmortems"}
	root.AddCommand(kbIngestCmd(stdout, stderr), kbSearchCmd(stdout, stderr), kbStatsCmd(stdout, stderr))
	return root
}

func kbIngestCmd(stdout, stderr io.Writer) *cobra.Command {
	var mapping, since string
	var fromPD bool
	cmd := &cobra.Command{
		Use:   "ingest PATH... | --pagerduty --since 90d",
		Short: "Load tickets: JSON Lines (.jsonl), CSV (.csv, with --map), Markdown with front matter (.md, or a directory of them)",
		Long: "Loads tickets into Redis (REDIS_URL; the embedded store when unset). Re-ingesting an id updates it.\n" +
			"Bad rows are reported with file and line and skipped; everything else is loaded.\n" +
			"--map maps CSV columns: id=Issue id,title=Summary,body=Description,created=Created",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !fromPD {
				return fmt.Errorf("kb ingest: give PATH... or --pagerduty")
			}
			m, err := kb.ParseMapping(mapping)
			if err != nil {
				return err
			}
			var sinceT time.Time
			if fromPD {
				d, err := parseAge(since)
				if err != nil {
					return fmt.Errorf("kb ingest: --since: %w", err)
				}
				sinceT = time.Now().Add(-d)
			}
			k, _, _, done, err := kbSession(cmd.Context(), stderr)
			if err != nil {
				return err
			}
			defer done()
			ing := &ingester{kb: k, ctx: cmd.Context(), stderr: stderr, start: time.Now()}
			for _, p := range args {
				if err := ing.path(p, m); err != nil {
					return err
				}
			}
			if fromPD {
				if err := ing.pagerDuty(sinceT); err != nil {
					return err
				}
			}
			if err := ing.flush(); err != nil {
				return err
			}
			// A snapshot lets every later start (a search, a replica) load the
			// index instead of reading every ticket.
			if ing.n > 0 {
				if _, err := k.Snapshot(cmd.Context()); err != nil {
					fmt.Fprintf(stderr, "\nindex snapshot not saved (starts will read every ticket): %v\n", err)
				}
			}
			fmt.Fprintf(stderr, "\r%s\n", ing.progress())
			fmt.Fprintf(stdout, "ingested %d tickets (%d bad rows skipped) in %s\n", ing.n, len(ing.bad), time.Since(ing.start).Round(time.Millisecond))
			for i, b := range ing.bad {
				if i == 20 {
					fmt.Fprintf(stdout, "… and %d more bad rows\n", len(ing.bad)-20)
					break
				}
				fmt.Fprintf(stdout, "bad row: %v\n", b)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mapping, "map", "", "CSV column mapping, field=Column,...")
	cmd.Flags().BoolVar(&fromPD, "pagerduty", false, "import resolved PagerDuty incidents and their notes (PAGERDUTY_API_TOKEN)")
	cmd.Flags().StringVar(&since, "since", "90d", "with --pagerduty: how far back (e.g. 90d, 36h)")
	return cmd
}

// parseAge reads "90d", "12h", "1h30m".
func parseAge(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 90d or 36h", s)
	}
	return d, nil
}

func (in *ingester) pagerDuty(since time.Time) error {
	env, err := config.LoadEnv()
	if err != nil {
		return err
	}
	if env.PagerDutyAPIToken == "" {
		return fmt.Errorf("%w: PAGERDUTY_API_TOKEN: is required for --pagerduty", config.ErrInvalid)
	}
	c := pagerduty.NewClient(env.PagerDutyAPIURL, env.PagerDutyAPIToken.Reveal(), retry.Policy{})
	return c.ResolvedSince(in.ctx, since, func(r pagerduty.Resolved) error {
		t := kb.Ticket{ID: r.Incident.ID, Title: r.Incident.Title, Body: strings.Join(r.Notes, "\n"), Service: r.Service,
			Created: r.Created, Resolved: r.ResolvedAt, URL: r.Incident.HTMLURL, Source: "pagerduty"}
		if len(r.Notes) > 0 {
			t.Resolution = r.Notes[len(r.Notes)-1]
		}
		if err := t.Validate(); err != nil {
			in.bad = append(in.bad, kb.BadRow{File: "pagerduty", Line: 0, Err: err})
			return nil
		}
		return in.emit(t)
	})
}

type ingester struct {
	kb     *kb.KB
	ctx    context.Context
	stderr io.Writer
	batch  []kb.Ticket
	n      int
	bad    []kb.BadRow
	start  time.Time
	last   time.Time
}

func (in *ingester) progress() string {
	rate := float64(in.n) / max(time.Since(in.start).Seconds(), 1e-9)
	return fmt.Sprintf("ingested %d tickets (%.0f/s), %d bad rows", in.n, rate, len(in.bad))
}

func (in *ingester) emit(t kb.Ticket) error {
	in.batch = append(in.batch, t)
	if len(in.batch) >= 500 {
		return in.flush()
	}
	return nil
}

func (in *ingester) flush() error {
	if len(in.batch) == 0 {
		return nil
	}
	if err := in.kb.Add(in.ctx, in.batch...); err != nil {
		return err
	}
	in.n += len(in.batch)
	in.batch = in.batch[:0]
	if time.Since(in.last) > 200*time.Millisecond {
		fmt.Fprintf(in.stderr, "\r%s", in.progress())
		in.last = time.Now()
	}
	return nil
}

func (in *ingester) path(p string, m map[string]string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("kb ingest: %w", err)
	}
	if st.IsDir() {
		return filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(f), ".md") {
				return nil
			}
			return in.file(f, m)
		})
	}
	return in.file(p, m)
}

func (in *ingester) file(p string, m map[string]string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("kb ingest: %w", err)
	}
	defer f.Close()
	var bad []kb.BadRow
	switch strings.ToLower(filepath.Ext(p)) {
	case ".jsonl", ".ndjson", ".json":
		bad, err = kb.ParseJSONL(p, f, in.emit)
	case ".csv":
		bad, err = kb.ParseCSV(p, f, m, in.emit)
	case ".md", ".markdown":
		data, rerr := io.ReadAll(io.LimitReader(f, kb.MaxText*4))
		if rerr != nil {
			return fmt.Errorf("kb ingest: %w", rerr)
		}
		t, perr := kb.ParseMarkdown(p, data)
		if perr != nil {
			in.bad = append(in.bad, kb.BadRow{File: p, Line: 1, Err: perr})
			return nil
		}
		return in.emit(t)
	default:
		return fmt.Errorf("kb ingest: %s: unknown format (want .jsonl, .csv or .md)", p)
	}
	in.bad = append(in.bad, bad...)
	return err
}

func kbSearchCmd(stdout, stderr io.Writer) *cobra.Command {
	var k int
	var asJSON bool
	var queries string
	cmd := &cobra.Command{
		Use:   "search [-k N] [--json] TEXT | --queries FILE",
		Short: "Find the tickets most similar to TEXT (or to each query of a JSON Lines file)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if k < 1 || k > 100 {
				return fmt.Errorf("kb search: -k must be between 1 and 100")
			}
			if (queries == "") == (len(args) == 0) {
				return fmt.Errorf("kb search: give TEXT or --queries FILE")
			}
			base, _, engine, done, err := kbSession(cmd.Context(), stderr)
			if err != nil {
				return err
			}
			defer done()
			if queries != "" {
				return batchSearch(base, queries, k, stdout)
			}
			res := base.Search(kb.Query{Title: strings.Join(args, " ")}, k)
			// Printed like the thread shows them: masked.
			sess := engine.NewSession()
			for i := range res {
				r := &res[i]
				r.Title, r.RootCause, r.Resolution = sess.String(r.Title), sess.String(r.RootCause), sess.String(r.Resolution)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetEscapeHTML(false)
				return enc.Encode(res)
			}
			if len(res) == 0 {
				fmt.Fprintln(stdout, "no matches")
			}
			for i, r := range res {
				fmt.Fprintf(stdout, "%d. %s  %s  (similarity %.2f)\n", i+1, r.ID, r.Title, r.Similarity)
				if r.Resolution != "" {
					fmt.Fprintf(stdout, "   resolution: %s\n", r.Resolution)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&k, "k", "k", 5, "how many results")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	cmd.Flags().StringVar(&queries, "queries", "", `JSON Lines file of queries, {"id","title","body","at"} or free {"id","text"}; writes {"id","hits":[{"id","score"}]} per line`)
	return cmd
}

func batchSearch(base *kb.KB, path string, k int, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("kb search: %w", err)
	}
	defer f.Close()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), kb.MaxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		query, err := parseQuery(line)
		if err != nil {
			return fmt.Errorf("kb search: %s:%d: %w", path, n, err)
		}
		type hit struct {
			ID    string  `json:"id"`
			Score float64 `json:"score"`
		}
		hits := []hit{}
		for _, r := range base.Search(query, k) {
			hits = append(hits, hit{r.ID, r.Score})
		}
		if err := enc.Encode(map[string]any{"id": query.Exclude, "hits": hits}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("kb search: %s: a query line is longer than %d bytes", path, kb.MaxLine)
		}
		return fmt.Errorf("kb search: %w", err)
	}
	return nil
}

// parseQuery reads one --queries line: an incident as the bot asks about
// it ({"id","title","body","at"}), or free text ({"id","text"}); text
// given with a title joins the body. at takes the formats tickets' created
// takes. The id is left out of the hits (the query's own ticket).
func parseQuery(line string) (kb.Query, error) {
	var q struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Body  string `json:"body"`
		At    string `json:"at"`
		Text  string `json:"text"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return kb.Query{}, fmt.Errorf(`want {"id", "title", "body", "at"} or {"id", "text"} (%s)`, jsonProblem(err))
	}
	out := kb.Query{Title: q.Title, Body: q.Body, Exclude: q.ID}
	switch {
	case q.Title == "" && q.Text != "":
		out.Title, out.Body = search.SplitFreeText(q.Text)
		out.Body = strings.TrimSpace(out.Body + "\n" + q.Body)
	case q.Text != "":
		out.Body = strings.TrimSpace(q.Body + "\n" + q.Text)
	}
	if strings.TrimSpace(out.Title+out.Body) == "" {
		return kb.Query{}, errors.New(`the query has no "title", "body" or "text"`)
	}
	if q.At != "" {
		out.At = search.ParseTime(q.At)
		if out.At.IsZero() {
			return kb.Query{}, errors.New(`"at" is not a time (RFC 3339, "2006-01-02 15:04:05" or a date)`)
		}
	}
	return out, nil
}

// jsonProblem names a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "not JSON"
	case errors.As(err, &te):
		return fmt.Sprintf("%q must be a string", te.Field)
	case strings.Contains(err.Error(), "unknown field"):
		return "unknown field"
	}
	return "not a JSON object"
}

func kbStatsCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count the tickets by source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, store, _, done, err := kbSession(cmd.Context(), stderr)
			if err != nil {
				return err
			}
			defer done()
			n, err := store.Count(cmd.Context())
			if err != nil {
				return err
			}
			st := base.Stats()
			enc := json.NewEncoder(stdout)
			return enc.Encode(map[string]any{"tickets": n, "by_source": st.BySource, "terms": st.Terms})
		},
	}
}

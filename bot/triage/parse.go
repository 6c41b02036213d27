// Package triage parses the /triage slash command's text. Parsing is pure
// and fuzzed; the server acts on the result.
package triage

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/jobs"
)

// Kind of command.
type Kind string

// Commands.
const (
	KindHelp       Kind = "help"
	KindIncident   Kind = "incident"   // link or (re)open an incident's thread
	KindSearch     Kind = "search"     // search the knowledge base
	KindPropose    Kind = "propose"    // propose a catalog action
	KindReject     Kind = "reject"     // reject a proposal, with a reason
	KindSplit      Kind = "split"      // take an incident out of its storm into its own thread
	KindStatus     Kind = "status"     // the open incidents
	KindTimeline   Kind = "timeline"   // one incident's timeline
	KindPostmortem Kind = "postmortem" // a postmortem draft in the incident's thread
)

// MaxText bounds the command text.
const MaxText = 2000

// ErrUsage is wrapped by every parse error; its message is shown to the user.
var ErrUsage = errors.New("usage")

// Command is a parsed /triage invocation.
type Command struct {
	Kind       Kind
	IncidentID string
	Text       string            // search text
	ActionID   string            // propose
	Params     map[string]string // propose
	ProposalID string            // reject
	Reason     string            // reject
}

var incidentID = regexp.MustCompile(`^[A-Z0-9]{5,20}$`)

// Help is the text of /triage help.
const Help = "*opsgate* — incident triage in Slack\n" +
	"• `/triage <incident id or PagerDuty URL>` — link to the incident's thread, or open one\n" +
	"• `/triage search <text>` — similar past incidents, tickets and runbooks\n" +
	"• `/triage propose <incident> <action> [key=value ...]` — propose a catalog action; someone else approves it\n" +
	"• `/triage reject <proposal id> <reason>` — reject a proposal and say why\n" +
	"• `/triage split <incident>` — take an incident out of its storm's thread into one of its own\n" +
	"• `/triage status` — open incidents: state, owner, thread, proposals waiting for approval\n" +
	"• `/triage timeline <incident>` — what PagerDuty reported and what opsgate did, in time order\n" +
	"• `/triage postmortem <incident>` — a postmortem draft (Markdown) in the incident's thread\n" +
	"• `/triage help` — this help"

// Parse reads the text after /triage.
func Parse(text string) (Command, error) {
	if len(text) > MaxText {
		return Command{}, fmt.Errorf("%w: the text is longer than %d characters", ErrUsage, MaxText)
	}
	fields := strings.Fields(text)
	if len(fields) == 0 || strings.EqualFold(fields[0], "help") {
		return Command{Kind: KindHelp}, nil
	}
	if strings.EqualFold(fields[0], "search") {
		q := strings.TrimSpace(text[strings.Index(strings.ToLower(text), "search")+len("search"):])
		if q == "" {
			return Command{}, fmt.Errorf("%w: /triage search needs some text", ErrUsage)
		}
		return Command{Kind: KindSearch, Text: q}, nil
	}
	if strings.EqualFold(fields[0], "propose") {
		return parsePropose(fields[1:])
	}
	if strings.EqualFold(fields[0], "reject") {
		return parseReject(fields[1:])
	}
	if strings.EqualFold(fields[0], "status") {
		if len(fields) != 1 {
			return Command{}, fmt.Errorf("%w: /triage status takes nothing after it", ErrUsage)
		}
		return Command{Kind: KindStatus}, nil
	}
	for _, k := range []Kind{KindTimeline, KindPostmortem} {
		if strings.EqualFold(fields[0], string(k)) {
			if len(fields) != 2 {
				return Command{}, fmt.Errorf("%w: /triage %s takes one incident id or URL", ErrUsage, k)
			}
			id, err := incidentRef(fields[1])
			if err != nil {
				return Command{}, err
			}
			return Command{Kind: k, IncidentID: id}, nil
		}
	}
	if strings.EqualFold(fields[0], "split") {
		if len(fields) != 2 {
			return Command{}, fmt.Errorf("%w: /triage split takes one incident id or URL", ErrUsage)
		}
		id, err := incidentRef(fields[1])
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: KindSplit, IncidentID: id}, nil
	}
	if len(fields) > 1 {
		return Command{}, fmt.Errorf("%w: expected one incident id or URL", ErrUsage)
	}
	id, err := incidentRef(fields[0])
	if err != nil {
		return Command{}, err
	}
	return Command{Kind: KindIncident, IncidentID: id}, nil
}

// MaxParams bounds a proposal's parameters.
const MaxParams = 16

func parsePropose(args []string) (Command, error) {
	if len(args) < 2 {
		return Command{}, fmt.Errorf("%w: /triage propose <incident id or URL> <action id> [key=value ...]", ErrUsage)
	}
	id, err := incidentRef(args[0])
	if err != nil {
		return Command{}, err
	}
	if !catalog.ValidActionID(args[1]) {
		return Command{}, fmt.Errorf("%w: %q is not an action id (lowercase letters, digits, dashes)", ErrUsage, clip(args[1]))
	}
	if len(args)-2 > MaxParams {
		return Command{}, fmt.Errorf("%w: at most %d parameters", ErrUsage, MaxParams)
	}
	params := map[string]string{}
	for _, kv := range args[2:] {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || !catalog.ValidParamName(k):
			return Command{}, fmt.Errorf("%w: %q is not key=value with a lowercase key", ErrUsage, clip(kv))
		case v == "":
			return Command{}, fmt.Errorf("%w: parameter %s has no value", ErrUsage, k)
		}
		if _, dup := params[k]; dup {
			return Command{}, fmt.Errorf("%w: parameter %s is given twice", ErrUsage, k)
		}
		params[k] = v
	}
	return Command{Kind: KindPropose, IncidentID: id, ActionID: args[1], Params: params}, nil
}

// MaxReason bounds a rejection's reason.
const MaxReason = 500

func parseReject(args []string) (Command, error) {
	if len(args) < 2 {
		return Command{}, fmt.Errorf("%w: /triage reject <proposal id> <reason>", ErrUsage)
	}
	if !jobs.ValidProposalID(args[0]) {
		return Command{}, fmt.Errorf("%w: %q is not a proposal id such as Q1ABCD2-0123456789 (shown under the proposal)", ErrUsage, clip(args[0]))
	}
	reason := strings.Join(args[1:], " ")
	if len(reason) > MaxReason {
		return Command{}, fmt.Errorf("%w: the reason is longer than %d characters", ErrUsage, MaxReason)
	}
	return Command{Kind: KindReject, ProposalID: args[0], Reason: reason}, nil
}

// incidentRef extracts an incident id from an id ("Q1ABCD2EFGH") or a
// PagerDuty incident URL (https://acme.pagerduty.com/incidents/Q1ABCD2EFGH),
// also in Slack's escaped link form <https://...|label>.
func incidentRef(s string) (string, error) {
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
		if i := strings.IndexByte(s, '|'); i >= 0 {
			s = s[:i]
		}
	}
	if incidentID.MatchString(s) {
		return s, nil
	}
	if !strings.Contains(s, "/") {
		return "", fmt.Errorf("%w: %q is not a PagerDuty incident id", ErrUsage, clip(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" {
		return "", fmt.Errorf("%w: not an https PagerDuty incident URL", ErrUsage)
	}
	host := strings.ToLower(u.Hostname())
	if host != "pagerduty.com" && !strings.HasSuffix(host, ".pagerduty.com") {
		return "", fmt.Errorf("%w: %q is not a PagerDuty host", ErrUsage, clip(host))
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "incidents" && incidentID.MatchString(parts[i+1]) {
			return parts[i+1], nil
		}
	}
	return "", fmt.Errorf("%w: the URL has no /incidents/<id>", ErrUsage)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

package stakeholder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/catalog"
	"github.com/opsgate/opsgate/bot/config"
)

// ActionID is the built-in action a stakeholder update is proposed as
// (reserved in catalog.Reserved).
const ActionID = "stakeholder-update"

// Parameters of an update proposal: what approvers approve (the hash
// binds all three).
const (
	ParamText    = "text"
	ParamSubject = "subject"
	ParamTo      = "to"
)

// Spec is the built-in action: low risk, one approval by default (from
// the config's approvers unless stakeholders.approvals names others), not
// by the person who wrote the update.
func Spec(a *catalog.Approvals) catalog.Spec {
	ap := catalog.Approvals{Required: 1}
	if a != nil {
		ap = *a
		ap.Required = max(ap.Required, 1)
	}
	return catalog.Spec{ID: ActionID, Description: "Send this status update to the incident's stakeholders.",
		Risk: catalog.RiskLow, Approvals: ap, Expiry: 2 * time.Hour, Timeout: 2 * time.Minute, Message: ParamText}
}

// Specs is the catalog with the built-in update action beside it.
type Specs struct {
	Catalog interface {
		Get(id string) (catalog.Spec, bool)
	}
	Update catalog.Spec
}

// Get implements actions.Specs.
func (s Specs) Get(id string) (catalog.Spec, bool) {
	if id == ActionID {
		return s.Update, true
	}
	return s.Catalog.Get(id)
}

// Summary says where an update goes, in words approvers read; it names
// the e-mail list by a digest so that a list changed after approval is
// noticed (see Sender) without showing the addresses in Slack.
func Summary(t *config.Stakeholders) string {
	if t.Empty() {
		return "nobody"
	}
	var parts []string
	if n := len(t.Email); n > 0 {
		list := slices.Clone(t.Email)
		for i := range list {
			list[i] = strings.ToLower(list[i])
		}
		slices.Sort(list)
		sum := sha256.Sum256([]byte(strings.Join(list, ",")))
		parts = append(parts, fmt.Sprintf("e-mail to %d recipient(s) (list %s)", n, hex.EncodeToString(sum[:3])))
	}
	if t.Channel != "" {
		parts = append(parts, "Slack channel "+t.Channel)
	}
	if t.PagerDutyStatusUpdate {
		parts = append(parts, "PagerDuty status update")
	}
	return strings.Join(parts, ", ")
}

// Package access answers "may this Slack user do this?": reveal masked
// values (the configured approvers) and approve an action (the action's own
// users and groups, else the configured approvers). Group membership is
// read from Slack at the time of the click.
package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/opsgate/opsgate/bot/catalog"
)

// Groups reads a Slack user group's members.
type Groups interface {
	UserGroupMembers(ctx context.Context, group string) ([]string, error)
}

// List names users and user groups.
type List struct {
	Users  []string
	Groups []string
}

// Checker checks users against the configured approvers.
type Checker struct {
	Approvers List
	Groups    Groups // nil: group entries match nobody
}

// IsApprover reports whether user is a configured approver.
func (c *Checker) IsApprover(ctx context.Context, user string) (bool, error) {
	return c.in(ctx, user, c.Approvers)
}

// MayApprove reports whether user may approve an action with these rules:
// its users and groups, or the configured approvers when it names none.
func (c *Checker) MayApprove(ctx context.Context, user string, a catalog.Approvals) (bool, error) {
	if len(a.Users)+len(a.Groups) == 0 {
		return c.IsApprover(ctx, user)
	}
	return c.in(ctx, user, List{Users: a.Users, Groups: a.Groups})
}

func (c *Checker) in(ctx context.Context, user string, l List) (bool, error) {
	if slices.Contains(l.Users, user) {
		return true, nil
	}
	if c.Groups == nil {
		return false, nil
	}
	for _, g := range l.Groups {
		members, err := c.Groups.UserGroupMembers(ctx, g)
		if err != nil {
			return false, fmt.Errorf("user group %s: %w", g, err)
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, nil
}

// Approvers says who is an approver (a *Checker).
type Approvers interface {
	IsApprover(ctx context.Context, user string) (bool, error)
}

// MayAsk reports whether user may have opsgate's answers about incidents
// (search, status, timeline, postmortem) in channel: anyone in a channel
// incidents are posted to (allowedIn), an approver anywhere.
func MayAsk(ctx context.Context, a Approvers, allowedIn func(channel string) bool, channel, user string) (bool, error) {
	if allowedIn(channel) {
		return true, nil
	}
	return a.IsApprover(ctx, user)
}

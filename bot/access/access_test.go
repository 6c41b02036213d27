package access_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opsgate/opsgate/bot/access"
	"github.com/opsgate/opsgate/bot/catalog"
)

type groups map[string][]string

func (g groups) UserGroupMembers(_ context.Context, id string) ([]string, error) {
	m, ok := g[id]
	if !ok {
		return nil, errors.New("no_such_subteam")
	}
	return m, nil
}

func TestApprovers(t *testing.T) {
	c := &access.Checker{Approvers: access.List{Users: []string{"U1"}, Groups: []string{"S1"}}, Groups: groups{"S1": {"U2"}, "S9": {"U9"}}}
	ctx := context.Background()
	for user, want := range map[string]bool{"U1": true, "U2": true, "U3": false, "U9": false} {
		if got, err := c.IsApprover(ctx, user); err != nil || got != want {
			t.Errorf("IsApprover(%s) = %v %v", user, got, err)
		}
	}
	// An action with its own approvers: only they count.
	own := catalog.Approvals{Users: []string{"U3"}, Groups: []string{"S9"}}
	for user, want := range map[string]bool{"U1": false, "U3": true, "U9": true} {
		if got, err := c.MayApprove(ctx, user, own); err != nil || got != want {
			t.Errorf("MayApprove(%s) = %v %v", user, got, err)
		}
	}
	// No list on the action: the configured approvers.
	if ok, _ := c.MayApprove(ctx, "U2", catalog.Approvals{}); !ok {
		t.Error("a configured approver may not approve an action without its own list")
	}
	// A group that cannot be read is an error (retried), not a "no".
	bad := &access.Checker{Approvers: access.List{Groups: []string{"S404"}}, Groups: groups{}}
	if _, err := bad.IsApprover(ctx, "U1"); err == nil {
		t.Fatal("an unreadable group answered")
	}
	// Without a group reader, group entries match nobody.
	none := &access.Checker{Approvers: access.List{Groups: []string{"S1"}}}
	if ok, err := none.IsApprover(ctx, "U2"); ok || err != nil {
		t.Fatal(ok, err)
	}
}

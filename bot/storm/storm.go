// Package storm groups an alert storm into one thread: incidents that
// arrive within a window and share a signature — the service and the
// title with its variable parts masked — join the first one's thread
// (the leader's), whose parent lists them with their live status, instead
// of opening a thread each. The decision is one Lua script on Redis, so
// replicas racing on a storm's incidents agree on its leader.
package storm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// variable matches a title's parts that differ between incidents of one
// cause: anything holding a digit (ids, counts, IPs, percentages, hosts
// such as web-7f9c), hex runs and UUID-like tokens, and quoted strings.
var variable = regexp.MustCompile(`"[^"]*"|'[^']*'|[^\s,;:()\[\]{}]*[0-9][^\s,;:()\[\]{}]*|\b[0-9a-f]{8,}\b`)

// Template is title with its variable parts replaced by <*>, lower-cased
// and with spaces collapsed: "Disk 91% full on db-3" and "disk 97% full
// on db-7" share "disk <*> full on <*>".
func Template(title string) string {
	t := variable.ReplaceAllString(strings.ToLower(title), "<*>")
	return strings.Join(strings.Fields(t), " ")
}

// Signature names the storm an incident belongs to: its service and its
// title's template.
func Signature(service, title string) string {
	sum := sha256.Sum256([]byte(service + "\x00" + Template(title)))
	return hex.EncodeToString(sum[:12])
}

// Key is the storm's Redis key (a hash tag keeps it in one Cluster slot).
func Key(sig string) string { return "opsgate:storm:{" + sig + "}" }

// join makes the first incident of a signature its leader and returns
// the leader for every later one; each arrival extends the window (a
// storm lasts while incidents keep coming).
var join = redis.NewScript(`
local leader = redis.call('GET', KEYS[1])
if not leader then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return leader`)

// end closes the storm if id still leads it.
var end = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Grouper decides storms in Redis.
type Grouper struct{ Redis redis.Cmdable }

// Join returns the leader of sig's storm, making id the leader when no
// storm of that signature is open; the storm stays open window past the
// latest arrival. Asking again for the same id gives the same answer while
// the storm is open (redeliveries, racing replicas).
func (g *Grouper) Join(ctx context.Context, sig, id string, window time.Duration) (string, error) {
	leader, err := join.Run(ctx, g.Redis, []string{Key(sig)}, id, max(window.Milliseconds(), 1)).Text()
	if err != nil {
		return "", fmt.Errorf("storm %s: %w", sig, err)
	}
	return leader, nil
}

// Close ends sig's storm if leader still leads it: the next incident of
// that signature starts a new one.
func (g *Grouper) Close(ctx context.Context, sig, leader string) error {
	if err := end.Run(ctx, g.Redis, []string{Key(sig)}, leader).Err(); err != nil {
		return fmt.Errorf("storm %s: %w", sig, err)
	}
	return nil
}

// Package versioned keeps JSON documents in Redis hashes {rev, data} that
// change only by compare-and-swap on the revision: the shared mechanism
// behind incident records, their context and action proposals.
//
// With a Sealer the data is sealed (AES-GCM) and bound to its Redis key:
// reading Redis shows none of it, and a document edited, written by hand
// or copied from another key fails to load (ErrSealed) instead of being
// believed — a proposal's approvals cannot be forged in Redis.
package versioned

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sealer seals documents (a *seal.Keyring); nil keeps them in plaintext.
type Sealer interface {
	Seal(plain, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

// ErrSealed: a stored document does not open under the keys — changed,
// written or copied by someone without them.
var ErrSealed = errors.New("versioned: document does not open under the vault keys")

func aad(key string) []byte { return []byte("opsgate doc v1\x00" + key) }

// cas writes data only if the stored revision is still ARGV[1] ("0" for
// a document that does not exist yet).
var cas = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'rev')
if (cur or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// Load decodes the document at key into v and returns its revision; a
// missing document is revision 0 and found false.
func Load(ctx context.Context, rdb redis.Cmdable, keys Sealer, key string, v any) (rev int64, found bool, err error) {
	vals, err := rdb.HMGet(ctx, key, "rev", "data").Result()
	if err != nil {
		return 0, false, fmt.Errorf("%s: load: %w", key, err)
	}
	if vals[0] == nil || vals[1] == nil {
		return 0, false, nil
	}
	rev, err = strconv.ParseInt(fmt.Sprint(vals[0]), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: corrupt revision", key)
	}
	data := []byte(fmt.Sprint(vals[1]))
	if keys != nil {
		if data, err = keys.Open(data, aad(key)); err != nil {
			return 0, false, fmt.Errorf("%s: %w: %w", key, ErrSealed, err)
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return 0, false, fmt.Errorf("%s: corrupt document: %w", key, err)
	}
	return rev, true, nil
}

// Swap stores v as revision rev+1 if the stored revision is still rev
// (rev 0: only if there is none), expiring ttl after the write. false: the
// document changed meanwhile.
func Swap(ctx context.Context, rdb redis.Cmdable, keys Sealer, key string, rev int64, v any, ttl time.Duration) (bool, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("%s: encode: %w", key, err)
	}
	if keys != nil {
		data = keys.Seal(data, aad(key))
	}
	ok, err := cas.Run(ctx, rdb, []string{key}, rev, rev+1, data, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("%s: store: %w", key, err)
	}
	return ok == 1, nil
}

// ErrContention: Update lost the compare-and-swap race too many times in
// a row.
var ErrContention = errors.New("versioned: too much contention")

// maxAttempts bounds Update's re-runs: each lost race means another
// writer's change landed, so this many at once would be needed to exhaust
// it.
const maxAttempts = 100

// Update applies fn to the document at key — a zero T, found false, if
// there is none — and stores the result by compare-and-swap, re-running
// fn on a fresh copy after a conflict, so fn must be pure. fn reports
// whether it changed the document (nothing changed: nothing is written);
// its error aborts. The document as stored (or as read, when unchanged)
// is returned.
func Update[T any](ctx context.Context, rdb redis.Cmdable, keys Sealer, key string, ttl time.Duration, fn func(doc *T, found bool) (bool, error)) (*T, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var doc T
		rev, found, err := Load(ctx, rdb, keys, key, &doc)
		if err != nil {
			return nil, err
		}
		changed, err := fn(&doc, found)
		if err != nil {
			return nil, err
		}
		if !changed {
			return &doc, nil
		}
		ok, err := Swap(ctx, rdb, keys, key, rev, &doc, ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			return &doc, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", key, ErrContention)
}

package redistest

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Dump reads every key of the database the way an attacker with Redis
// access would: SCAN, then each value by its type (strings, hashes, lists,
// sets, sorted sets, streams) plus the key's DUMP serialisation. It maps
// each key to all its text, so a test can look for a value anywhere.
func Dump(ctx context.Context, rdb redis.Cmdable) (map[string]string, error) {
	out := map[string]string{}
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, "*", 500).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			text, err := dumpKey(ctx, rdb, k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = text
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}

func dumpKey(ctx context.Context, rdb redis.Cmdable, k string) (string, error) {
	var b strings.Builder
	b.WriteString(k + "\n")
	typ, err := rdb.Type(ctx, k).Result()
	if err != nil {
		return "", err
	}
	switch typ {
	case "string":
		v, err := rdb.Get(ctx, k).Result()
		if err != nil && err != redis.Nil {
			return "", err
		}
		b.WriteString(v)
	case "hash":
		m, err := rdb.HGetAll(ctx, k).Result()
		if err != nil {
			return "", err
		}
		for f, v := range m {
			fmt.Fprintf(&b, "%s=%s\n", f, v)
		}
	case "list":
		l, err := rdb.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			return "", err
		}
		b.WriteString(strings.Join(l, "\n"))
	case "set":
		l, err := rdb.SMembers(ctx, k).Result()
		if err != nil {
			return "", err
		}
		b.WriteString(strings.Join(l, "\n"))
	case "zset":
		l, err := rdb.ZRange(ctx, k, 0, -1).Result()
		if err != nil {
			return "", err
		}
		b.WriteString(strings.Join(l, "\n"))
	case "stream":
		msgs, err := rdb.XRange(ctx, k, "-", "+").Result()
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			fmt.Fprintf(&b, "%s %v\n", m.ID, m.Values)
		}
	}
	raw, err := rdb.Dump(ctx, k).Result()
	if err != nil && err != redis.Nil {
		return "", err
	}
	b.WriteString("\n" + raw)
	return b.String(), nil
}

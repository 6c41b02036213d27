package cli

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/opsgate/opsgate/bot/audit"
	"github.com/opsgate/opsgate/bot/config"
	"github.com/opsgate/opsgate/bot/seal"
)

// redisFromEnv connects to the Redis the REDIS_* variables name (an
// embedded store would be empty: refusing is clearer). what names the
// command in the error.
func redisFromEnv(what string) (redis.UniversalClient, *config.Env, error) {
	env, err := config.LoadEnv()
	if err != nil {
		return nil, nil, err
	}
	if !env.RedisConfigured() {
		return nil, nil, fmt.Errorf("%s: REDIS_URL or REDIS_ADDRS is required (what it reads lives in Redis)", what)
	}
	opt, err := env.RedisOptions()
	if err != nil {
		return nil, nil, err
	}
	return redis.NewUniversalClient(opt), env, nil
}

// vaultKeys are the keys that open opsgate's state in Redis.
func vaultKeys(what string, env *config.Env) (*seal.Keyring, error) {
	if k := env.Keyring(); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%s: OPSGATE_VAULT_KEY is required (opsgate's state in Redis is encrypted with it)", what)
}

// auditLog opens the audit trail on REDIS_URL with OPSGATE_AUDIT_KEY.
func auditLog(what string) (*audit.Log, redis.UniversalClient, *config.Env, error) {
	rdb, env, err := redisFromEnv(what)
	if err != nil {
		return nil, nil, nil, err
	}
	key := env.AuditKeyBytes()
	if key == nil {
		_ = rdb.Close()
		return nil, nil, nil, fmt.Errorf("%s: OPSGATE_AUDIT_KEY is required (the audit trail is keyed with it)", what)
	}
	l, err := audit.New(rdb, key, nil)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, nil, err
	}
	return l, rdb, env, nil
}

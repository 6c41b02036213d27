package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis topologies opsgate runs on.
const (
	RedisEmbedded = "embedded" // nothing configured: the in-process store
	RedisSingle   = "single"
	RedisSentinel = "sentinel"
	RedisCluster  = "cluster"
)

// RedisConfigured reports whether a Redis is configured (else the embedded
// store is used).
func (e *Env) RedisConfigured() bool { return e.RedisURL != "" || len(e.RedisAddrs) > 0 }

// RedisTopology names what the REDIS_* variables describe.
func (e *Env) RedisTopology() string {
	switch {
	case e.RedisURL != "":
		return RedisSingle
	case e.RedisMasterName != "":
		return RedisSentinel
	case len(e.RedisAddrs) > 1:
		return RedisCluster
	case len(e.RedisAddrs) == 1:
		return RedisSingle
	}
	return RedisEmbedded
}

// WaitReplicas is how many replicas must acknowledge an accepted webhook
// (REDIS_WAIT_REPLICAS, -1 resolved by topology).
func (e *Env) WaitReplicas() int {
	if e.RedisWaitReplicas >= 0 {
		return e.RedisWaitReplicas
	}
	switch e.RedisTopology() {
	case RedisSentinel, RedisCluster:
		return 1
	}
	return 0
}

// validateRedis refuses any REDIS_* setting opsgate could not use — never
// a silent fall-back to the embedded store — without echoing secrets.
func (e *Env) validateRedis() error {
	if e.RedisURL != "" && len(e.RedisAddrs) > 0 {
		return bad("REDIS_URL", "and REDIS_ADDRS are both set: use one (REDIS_URL for one node, REDIS_ADDRS for Sentinel or Cluster)")
	}
	if e.RedisURL != "" {
		if _, err := redis.ParseURL(e.RedisURL.Reveal()); err != nil {
			return bad("REDIS_URL", "not a valid redis:// or rediss:// URL") // the URL may hold a password: not echoed
		}
	}
	for _, a := range e.RedisAddrs {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return bad("REDIS_ADDRS", fmt.Sprintf("%q is not host:port", a))
		}
	}
	if !e.RedisConfigured() {
		for name, set := range map[string]bool{
			"REDIS_MASTER_NAME": e.RedisMasterName != "", "REDIS_USERNAME": e.RedisUsername != "", "REDIS_PASSWORD": e.RedisPassword != "",
			"REDIS_SENTINEL_PASSWORD": e.RedisSentinelPassword != "", "REDIS_DB": e.RedisDB != 0, "REDIS_TLS": e.RedisTLS, "REDIS_TLS_CA": e.RedisTLSCA != "",
		} {
			if set {
				return bad(name, "is set but neither REDIS_URL nor REDIS_ADDRS names a Redis (opsgate would otherwise run on its embedded store)")
			}
		}
	}
	if e.RedisMasterName != "" && e.RedisURL != "" {
		return bad("REDIS_MASTER_NAME", "needs REDIS_ADDRS naming the Sentinels, not REDIS_URL")
	}
	if e.RedisTopology() == RedisCluster && e.RedisDB != 0 {
		return bad("REDIS_DB", "must be 0 with Cluster (Cluster has one database)")
	}
	if e.RedisDB < 0 || e.RedisDB > 15 {
		return bad("REDIS_DB", "must be between 0 and 15")
	}
	if e.RedisWaitReplicas < -1 || e.RedisWaitReplicas > 10 {
		return bad("REDIS_WAIT_REPLICAS", "must be -1 (by topology) or 0 to 10")
	}
	if e.RedisWaitTimeout != 0 && (e.RedisWaitTimeout < 10*time.Millisecond || e.RedisWaitTimeout > time.Minute) {
		return bad("REDIS_WAIT_TIMEOUT", "must be between 10ms and 1m")
	}
	if e.RedisTLSCA != "" {
		if _, err := e.redisTLS(); err != nil {
			return err
		}
	}
	return nil
}

// RedisOptions turns the REDIS_* variables into go-redis options (one
// node, Sentinel or Cluster, by RedisTopology).
func (e *Env) RedisOptions() (*redis.UniversalOptions, error) {
	o := &redis.UniversalOptions{Addrs: e.RedisAddrs, MasterName: e.RedisMasterName, Username: e.RedisUsername,
		Password: e.RedisPassword.Reveal(), SentinelPassword: e.RedisSentinelPassword.Reveal(), DB: e.RedisDB}
	if e.RedisURL != "" {
		u, err := redis.ParseURL(e.RedisURL.Reveal())
		if err != nil {
			return nil, bad("REDIS_URL", "not a valid redis:// or rediss:// URL")
		}
		o.Addrs, o.Username, o.Password, o.DB, o.TLSConfig = []string{u.Addr}, u.Username, u.Password, u.DB, u.TLSConfig
		if e.RedisUsername != "" {
			o.Username = e.RedisUsername
		}
		if e.RedisPassword != "" {
			o.Password = e.RedisPassword.Reveal()
		}
		if e.RedisDB != 0 {
			o.DB = e.RedisDB
		}
	}
	if e.RedisTLS || e.RedisTLSCA != "" {
		t, err := e.redisTLS()
		if err != nil {
			return nil, err
		}
		if o.TLSConfig != nil && t.RootCAs == nil {
			t.ServerName = o.TLSConfig.ServerName
		}
		o.TLSConfig = t
	}
	if e.RedisTopology() == RedisCluster {
		o.IsClusterMode = true
	}
	return o, nil
}

func (e *Env) redisTLS() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.RedisTLSCA != "" {
		pem, err := os.ReadFile(e.RedisTLSCA)
		if err != nil {
			return nil, bad("REDIS_TLS_CA", "cannot be read")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, bad("REDIS_TLS_CA", "holds no PEM certificate")
		}
		t.RootCAs = pool
	}
	return t, nil
}

package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Sign returns the X-Slack-Request-Timestamp and X-Slack-Signature headers
// Slack sends with body at time at: "v0=" + hex HMAC-SHA256(secret,
// "v0:<timestamp>:<body>"). opsgate verifies with slack-go; this is for
// the demo's stand-in requests and for tests.
func Sign(secret string, at time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(m.Sum(nil))
}

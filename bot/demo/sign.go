package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// slackSignature computes X-Slack-Signature as Slack does.
func slackSignature(secret, stamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + stamp + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

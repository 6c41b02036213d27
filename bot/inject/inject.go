// Package inject flags telemetry that carries instructions: text planted in
// logs or alert fields that addresses an AI or an operator, or that tells
// someone to run a command. Flagged lines are withheld from LLM prompts and
// shown to humans as a warning ("When AIOps Become AI Oops": planted log
// text steers agents most of the time).
package inject

import (
	"regexp"
	"strings"
	"sync"
)

// Reason names why a line was flagged.
type Reason string

// Reasons.
const (
	ReasonPromptInjection Reason = "prompt-injection"    // "ignore previous instructions", "you are now", ...
	ReasonAddressed       Reason = "addressed-to-agent"  // "note to the AI/assistant/operator", "the assistant must"
	ReasonCommand         Reason = "shell-command"       // curl | sh, apt-get install, kubectl delete, rm -rf, ...
	ReasonImperative      Reason = "operator-imperative" // "to fix this, run ...", "please upgrade ..."
	ReasonExfiltration    Reason = "exfiltration-url"    // send/upload/post ... to a URL on an unknown host
)

type rule struct {
	reason Reason
	re     *regexp.Regexp
}

// rules are phrases matched case-insensitively on the whole line, each
// narrow enough not to fire on ordinary log text (see the Loghub
// evaluation). They are compiled on first use: commands that never check
// text (redact, templates) do not pay for them at start.
var rules = sync.OnceValue(func() []rule {
	return []rule{
		{ReasonPromptInjection, regexp.MustCompile(`(?i)\b(ignore|disregard|forget|override|bypass)\b.{0,30}\b(previous|prior|above|earlier|all|any|your|the|system|safety)\b.{0,20}\b(instructions?|prompts?|rules|guidelines|directives|context|messages?|policies|polic(y|ies))\b`)},
		{ReasonPromptInjection, regexp.MustCompile(`(?i)\b(you are now|from now on,? you|act as (an?|the)\b|pretend (to be|you are)|developer mode|jailbreak|system prompt|new instructions?|hidden instructions?|do not (tell|mention|reveal|report)|without (telling|asking|approval|confirmation))`)},
		{ReasonAddressed, regexp.MustCompile(`(?i)\b(note|message|instructions?|attention|hint|important|reminder)\s*(to|for)\s+(the\s+)?(ai|llm|assistant|model|agent|bot|chatbot|copilot|gpt|gemini|claude|operator|on-?call|sre|engineer|admin|responder|automation)s?\b`)},
		{ReasonAddressed, regexp.MustCompile(`(?i)\b(dear|hey|attention|ATTN:?)\s+(ai|llm|assistant|model|agent|bot|gpt|gemini|claude|operator|on-?call|sre)\b`)},
		{ReasonAddressed, regexp.MustCompile(`(?i)\b(ai|llm|assistant|model|agent|bot|copilot|automation|remediation bot|on-?call|operator|sre)s?\s+(should|must|shall|needs? to|is required to|has to|ought to)\s+\w+`)},
		{ReasonCommand, regexp.MustCompile(`(?i)\b(curl|wget|fetch)\b[^|;]{0,200}\|\s*(sudo\s+)?(ba|z|da)?sh\b`)},
		{ReasonCommand, regexp.MustCompile(`(?i)\b(sudo\s+)?(apt-get|apt|yum|dnf|zypper|apk|brew|pip3?|npm|gem)\s+(-\S+\s+)*(install|upgrade|dist-upgrade|remove|purge)\b`)},
		{ReasonCommand, regexp.MustCompile(`(?i)\badd-apt-repository\b|\bsnap\s+install\b|\bcurl\s+-[a-z]*[fsSL]+[a-z]*\s+https?://`)},
		{ReasonCommand, regexp.MustCompile(`(?i)\b(kubectl|oc)\s+(-\S+\s+)*(delete|drain|cordon|scale|exec|apply|patch|replace|rollout\s+undo|edit|create|run)\b`)},
		{ReasonCommand, regexp.MustCompile(`(?i)\b(helm\s+(uninstall|delete|rollback)|terraform\s+(destroy|apply)|docker\s+(run|exec|rm|system\s+prune)|systemctl\s+(stop|disable|mask|restart|kill)|service\s+\S+\s+stop|iptables\s+-[FXD]|ufw\s+disable|setenforce\s+0)\b`)},
		{ReasonCommand, regexp.MustCompile(`(?i)(\brm\s+-[a-z]*r[a-z]*f|\brm\s+-[a-z]*f[a-z]*r|\bdd\s+if=|\bmkfs(\.\w+)?\s|\bchmod\s+(-R\s+)?777\b|\bchown\s+-R\b|/dev/tcp/|\bnc\s+(-\S+\s+)*-e\b|\bbase64\s+(-d|--decode)\b[^|]{0,80}\|\s*(ba)?sh|\bpython3?\s+-c\s|\bperl\s+-e\s|\beval\s*\$\(|\bcrontab\s+-[er]\b|authorized_keys|\bshutdown\s+(-h|now)|\breboot\s+now\b|\bkillall\b|\bpkill\s+-9|\bdrop\s+(table|database)\b|\btruncate\s+table\b|\bssh\s+(-\S+\s+)*\S*@\S+\s+['"]?(sudo|rm|curl|bash|sh)\b|\bscp\s+\S+\s+\S+@\S+:|\bgit\s+push\s+(-f|--force))`)},
		{ReasonImperative, regexp.MustCompile(`(?i)\b(to (fix|resolve|remediate|mitigate|recover)( this| the (issue|problem|error|incident))?|recommended (fix|action|remediation)|remediation( step)?s?|suggested fix|workaround|solution)\s*[:,-]?\s*(please\s+)?(run|execute|install|upgrade|downgrade|update|delete|remove|restart|reboot|disable|apply|deploy|roll ?back|scale|drain|download|curl)\b`)},
		{ReasonImperative, regexp.MustCompile(`(?i)\b(please|you (should|must|need to)|kindly|immediately|urgently|must|always)\s+(run|execute|install|upgrade|downgrade|delete|remove|wipe|purge|disable|reboot|restart|drain|scale down|roll ?back|approve|grant|curl|download|paste|send|email|post|upload)\b`)},
		{ReasonImperative, regexp.MustCompile(`(?i)\b(upgrade|update|install|downgrade)\s+(the\s+)?(package|library|dependency|agent|driver|plugin|openssl|kernel|libssl\S*)\s+\S+\s+(to|from)\s+(version\s+)?\S*\d`)},
		{ReasonExfiltration, regexp.MustCompile(`(?i)\b(send|upload|post|forward|exfiltrate|leak|copy|report|submit|share|transmit|pipe|dump)\b[^.]{0,80}\b(to|at|into|via)\b[^.]{0,40}(https?|ftp|wss?)://`)},
		{ReasonExfiltration, regexp.MustCompile(`(?i)(https?|ftp)://[^\s/]+/[^\s]*[?&](data|d|payload|secret|token|key|env|creds?|dump|exfil|q)=\$?[\w{(]`)},
		{ReasonExfiltration, regexp.MustCompile(`(?i)\bcurl\b[^|]{0,120}\s(-d|--data(-binary|-raw|-urlencode)?|-F|-T|--upload-file)\s+\S*(@|\$\(|\x60|/etc/|env|secret|token|passwd|shadow|\.ssh|\.aws|credentials)`)},
	}
})

// keywords prefilter: a line with none of them cannot match any rule.
var keywords = []string{"ignore", "disregard", "forget", "override", "bypass", "you are", "from now", "act as", "pretend",
	"developer mode", "jailbreak", "system prompt", "instruction", "do not", "without", "note", "message", "attention",
	"hint", "important", "reminder", "dear", "hey", "attn", "should", "must", "shall", "need", "required", "has to", "ought",
	"curl", "wget", "fetch", "install", "upgrade", "remove", "purge", "add-apt", "snap", "kubectl", "oc ", "helm", "terraform",
	"docker", "systemctl", "service", "iptables", "ufw", "setenforce", "rm ", "dd ", "mkfs", "chmod", "chown", "/dev/tcp",
	"nc ", "base64", "python", "perl", "eval", "crontab", "authorized_keys", "shutdown", "reboot", "killall", "pkill",
	"drop ", "truncate", "ssh ", "scp ", "git push", "to fix", "to resolve", "to remediate", "to mitigate", "to recover",
	"recommended", "remediation", "suggested", "workaround", "solution", "please", "kindly", "immediately", "urgently",
	"always", "update", "downgrade", "send", "upload", "post", "forward", "exfil", "leak", "copy", "report", "submit",
	"share", "transmit", "pipe", "dump", "://"}

// oddSpace reports whether s has whitespace other than single spaces.
func oddSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t', '\n', '\v', '\f', '\r':
			return true
		case ' ':
			if i+1 < len(s) && s[i+1] == ' ' {
				return true
			}
		}
	}
	return false
}

// Check reports whether line carries instruction-like text and why.
func Check(line string) (bool, []Reason) {
	low := strings.ToLower(line)
	if oddSpace(low) {
		// The rules see any run of whitespace (\s+) as a gap; so does the
		// prefilter, or a tab or a double space would slip past it.
		low = strings.Join(strings.Fields(low), " ")
	}
	hit := false
	for _, k := range keywords {
		if strings.Contains(low, k) {
			hit = true
			break
		}
	}
	if !hit {
		return false, nil
	}
	var reasons []Reason
	seen := map[Reason]bool{}
	for _, r := range rules() {
		if seen[r.reason] {
			continue
		}
		if r.re.MatchString(line) {
			seen[r.reason] = true
			reasons = append(reasons, r.reason)
		}
	}
	return len(reasons) > 0, reasons
}

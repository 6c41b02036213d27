package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Anchor is a signed checkpoint of the trail kept outside Redis: after
// Count entries the last MAC was Head. An anchor proves those entries
// existed, so removing them — or the newest ones, resetting the head — is
// caught by Verify.
type Anchor struct {
	Count  int64     `json:"count"`
	Head   string    `json:"head"`
	LastID string    `json:"last_id"` // stream id of entry Count-1: where retention may trim to
	At     time.Time `json:"at"`
	Sig    string    `json:"anchor_sig"`
}

func (a Anchor) sig(key []byte) string {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "opsgate audit anchor v1\x00%d\x00%s\x00%s\x00%s", a.Count, a.Head, a.LastID, a.At.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))
}

// Sign returns the anchor signed with key.
func (a Anchor) Sign(key []byte) Anchor {
	a.At = a.At.UTC()
	a.Sig = a.sig(key)
	return a
}

// Valid reports whether the anchor's signature holds under key.
func (a Anchor) Valid(key []byte) bool { return hmac.Equal([]byte(a.sig(key)), []byte(a.Sig)) }

// Line is the anchor as one JSON line of the anchor file.
func (a Anchor) Line() []byte {
	b, _ := json.Marshal(a)
	return append(b, '\n')
}

// ErrBadAnchor: an anchor line's signature does not hold — the anchor file
// was edited, or it was written with another key.
var ErrBadAnchor = errors.New("audit: anchor signature does not hold")

// maxAnchorLine bounds one line of an anchor source: structured logs may
// hold long lines that are skipped, never buffered whole.
const maxAnchorLine = 1 << 20

// ReadAnchors reads anchors from r: the anchor file, or a structured log
// (JSON lines; lines without an anchor signature are skipped, so opsgate's
// own log, which carries every anchor, works too). A line that carries a
// signature that does not hold is an error naming the line.
func ReadAnchors(r io.Reader, name string, key []byte) ([]Anchor, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []Anchor
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(line) > 0 && bytes.Contains(line, []byte(`"anchor_sig"`)) {
			var a Anchor
			if jerr := json.Unmarshal(line, &a); jerr != nil {
				return nil, fmt.Errorf("%w: %s line %d: not an anchor", ErrBadAnchor, name, n)
			}
			if !a.Valid(key) {
				return nil, fmt.Errorf("%w: %s line %d (count %d)", ErrBadAnchor, name, n, a.Count)
			}
			out = append(out, a)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}

// readLine returns one line (without its newline); an overlong line is
// returned empty, having been read past.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	long := false
	for {
		part, err := br.ReadSlice('\n')
		if !long {
			if len(buf)+len(part) > maxAnchorLine {
				long, buf = true, nil
			} else {
				buf = append(buf, part...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSpace(buf), err
	}
}

// ReadAnchorFiles reads the anchors of several files (one per replica,
// or shipped copies).
func ReadAnchorFiles(key []byte, paths ...string) ([]Anchor, error) {
	var all []Anchor
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("audit anchors: %w", err)
		}
		as, err := ReadAnchors(f, p, key)
		_ = f.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, as...)
	}
	return all, nil
}

// appendAnchor adds one line to the anchor file, creating it if needed,
// and syncs it: an anchor that is not on disk proves nothing.
func appendAnchor(path string, a Anchor) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("audit anchor: %w", err)
	}
	if _, err := f.Write(a.Line()); err != nil {
		_ = f.Close()
		return fmt.Errorf("audit anchor: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("audit anchor: %w", err)
	}
	return f.Close()
}

// nextID is the smallest stream id after id: trimming with MINID to it
// keeps every entry after id and none before.
func nextID(id string) (string, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		return "", false
	}
	return ms + "-" + strconv.FormatUint(n+1, 10), true
}

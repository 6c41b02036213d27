package collect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opsgate/opsgate/bot/procgroup"
)

// File reads the tail of files matching a glob on the opsgate host.
type File struct {
	Glob string `yaml:"glob"` // may use {{.Service}}
}

// Command runs a program with arguments — never through a shell — and
// reads its standard output.
type Command struct {
	Argv []string `yaml:"argv"` // each argument may use {{.Service}}, {{.Start}} …
	Dir  string   `yaml:"dir"`
}

func (f *File) fetch(ctx context.Context, p Params, lim limits) ([]Line, bool, error) {
	g, err := fill(f.Glob, p)
	if err != nil {
		return nil, false, err
	}
	paths, err := filepath.Glob(g)
	if err != nil {
		return nil, false, fmt.Errorf("glob: %w", err)
	}
	if len(paths) == 0 {
		return nil, false, fmt.Errorf("no file matches %s", g)
	}
	sort.Strings(paths)
	k := keeper{lim: lim}
	per := lim.bytes / len(paths)
	for _, path := range paths {
		if ctx.Err() != nil {
			return k.lines, true, ctx.Err()
		}
		lines, err := tail(path, per)
		if err != nil {
			return k.lines, k.capped, err
		}
		for _, l := range lines {
			if !k.add(Line{Text: l}) {
				return k.lines, true, nil
			}
		}
	}
	return k.lines, k.capped, nil
}

// tail returns the complete lines in the last n bytes of a file.
func tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	off := max(st.Size()-int64(n), 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return splitLines(buf), nil
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), len(b)+1)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// capped collects at most n bytes of output and notes whether more came.
type capped struct {
	n    int
	buf  bytes.Buffer
	over bool
}

// tailless keeps the first n bytes (stderr, for the error message) and
// quietly drops the rest, so a chatty program is not killed by SIGPIPE.
type tailless struct {
	n   int
	buf bytes.Buffer
}

func (t *tailless) Write(p []byte) (int, error) {
	if room := t.n - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// errFull stops the copy from the child, which then gets SIGPIPE instead
// of running on until the timeout.
var errFull = errors.New("output cap reached")

func (c *capped) Write(p []byte) (int, error) {
	if room := c.n - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		c.over = true
		return max(room, 0), errFull
	}
	return c.buf.Write(p)
}

func (c *Command) fetch(ctx context.Context, p Params, lim limits) ([]Line, bool, error) {
	argv := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		v, err := fill(a, p)
		if err != nil {
			return nil, false, err
		}
		argv[i] = v
	}
	out := &capped{n: lim.bytes}
	errb := &tailless{n: 2048}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = c.Dir, out, errb
	// A grandchild holding the pipes open must not outlive the timeout:
	// the program runs in its own process group, killed whole on cancel,
	// and Wait gives up on the pipes shortly after.
	procgroup.Own(cmd)
	cmd.WaitDelay = time.Second
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C"} // no opsgate secrets in the child's environment
	err := cmd.Run()
	k := keeper{lim: lim}
	for _, l := range splitLines(out.buf.Bytes()) {
		if !k.add(Line{Text: l}) {
			break
		}
	}
	if err != nil && out.over {
		err = nil // stopped by the cap: what was read is the result
	}
	if err != nil {
		if ctx.Err() != nil {
			return k.lines, true, ctx.Err()
		}
		return k.lines, out.over || k.capped, fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, clipText(errb.buf.String(), 200))
	}
	return k.lines, out.over || k.capped, nil
}

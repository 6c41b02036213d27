package demo

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opsgate/opsgate/integrations/fakes/fakeslack"
)

// charts tells what pictures the thread got: the metric charts, drawn
// from the masked view, in one message.
func charts(out io.Writer, fs *fakeslack.Server) error {
	var names []string
	for _, f := range fs.Files() {
		if !strings.HasSuffix(f.Name, ".png") {
			continue
		}
		img, err := png.Decode(bytes.NewReader(f.Content))
		if err != nil {
			return fmt.Errorf("demo: %s is not a PNG: %w", f.Name, err)
		}
		b := img.Bounds()
		names = append(names, fmt.Sprintf("%s (%d×%d, %q)", f.Title, b.Dx(), b.Dy(), f.AltText))
	}
	fmt.Fprintf(out, "→ metric charts posted in the thread: %d\n", len(names))
	for _, n := range names {
		fmt.Fprintf(out, "  • %s\n", n)
	}
	return nil
}

// saveFiles writes every file the Slack stand-in received into dir.
func saveFiles(out io.Writer, dir string, files []fakeslack.File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo --save-files: %w", err)
	}
	for _, f := range files {
		name := filepath.Base(f.Name) // a name from the stand-in, never a path
		if name == "." || name == "/" || name == ".." {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), f.Content, 0o644); err != nil {
			return fmt.Errorf("demo --save-files: %w", err)
		}
		fmt.Fprintf(out, "→ saved %s\n", filepath.Join(dir, name))
	}
	return nil
}

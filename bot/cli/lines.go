package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// eachLine calls fn with every line of r (without its '\n'; nl says
// whether it had one), numbered from 1. A line longer than max is an error
// naming it, and nothing after it is read.
func eachLine(cmd string, r io.Reader, max int, fn func(n int, line []byte, nl bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if len(buf) > max+1 {
				return fmt.Errorf("%s: line %d is longer than %d bytes", cmd, n, max)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: reading line %d: %w", cmd, n, err)
		}
		if len(buf) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		line, nl := buf, false
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line, nl = line[:len(line)-1], true
		}
		if ferr := fn(n, line, nl); ferr != nil {
			return ferr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

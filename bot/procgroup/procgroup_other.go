//go:build !unix

package procgroup

import "os/exec"

// Own: elsewhere only the program itself is killed (WaitDelay still
// bounds the wait).
func Own(*exec.Cmd) {}

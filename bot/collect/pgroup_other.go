//go:build !unix

package collect

import "os/exec"

// killGroup: elsewhere only the program itself is killed (WaitDelay still
// bounds the wait).
func killGroup(*exec.Cmd) {}

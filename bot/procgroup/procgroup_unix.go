//go:build unix

// Package procgroup runs a program in its own process group, so that a
// timeout kills everything it started — a shell script's children too,
// which would otherwise outlive it and keep running a half-done action.
package procgroup

import (
	"os/exec"
	"syscall"
)

// Own runs cmd in its own process group and kills the whole group
// when its context ends.
func Own(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

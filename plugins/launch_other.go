//go:build !linux

package plugins

import (
	"os"
	"os/exec"
)

// dieWithHost has no portable equivalent of Linux's parent-death signal;
// elsewhere a plugin outlives a host killed with SIGKILL.
func dieWithHost(*exec.Cmd) {}

// fileOwner is not read outside Linux: the mode checks still apply.
func fileOwner(os.FileInfo) (int, bool) { return 0, false }

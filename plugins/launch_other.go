//go:build !linux

package plugins

import "os/exec"

// dieWithHost has no portable equivalent of Linux's parent-death signal;
// elsewhere a plugin outlives a host killed with SIGKILL.
func dieWithHost(*exec.Cmd) {}

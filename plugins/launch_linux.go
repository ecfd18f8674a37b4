package plugins

import (
	"os"
	"os/exec"
	"syscall"
)

// dieWithHost has the kernel kill the plugin when tajo dies, even by
// SIGKILL, so a crashed host leaves no orphan holding sockets or shop
// credentials; the restarted host launches a fresh one.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// fileOwner is the uid owning fi's file.
func fileOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

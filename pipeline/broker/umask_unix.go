//go:build unix

package broker

import "syscall"

// restrictUmask adds 077 to the process umask: files are created without
// group or other permissions.
func restrictUmask() {
	old := syscall.Umask(0o077)
	syscall.Umask(old | 0o077)
}

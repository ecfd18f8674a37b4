//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory tajo creates owner-only
// (0600 files, 0700 directories), including those of libraries that ask
// for 0644 (the embedded broker's segments, chDB's parts).
func restrictUmask() { syscall.Umask(0o077) }

//go:build !unix

package main

// restrictUmask has no umask to set outside Unix; files keep the modes
// their creators ask for.
func restrictUmask() {}

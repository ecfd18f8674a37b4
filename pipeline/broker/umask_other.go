//go:build !unix

package broker

// restrictUmask does nothing where there is no umask; permissions there
// follow the data directory's ACL.
func restrictUmask() {}

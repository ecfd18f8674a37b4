package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
)

// OpenPrivate opens path with flag (O_CREATE is added) for a file that
// holds customer data: missing directories are created 0700, the file
// 0600, and an existing file with group or other bits (written by an older
// tajo, or copied in) is narrowed to 0600. Explicit modes, not only the
// umask, so that a library or a test calling this keeps the guarantee.
func OpenPrivate(path string, flag int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s has mode %04o and cannot be made private: %w", path, fi.Mode().Perm(), err)
		}
	}
	return f, nil
}

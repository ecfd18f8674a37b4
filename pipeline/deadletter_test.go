package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The dead-letter file holds whole customer records: owner-only, whatever
// the umask, and an existing world-readable one is narrowed.
func TestDeadLetterFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "new", "dead-letter.jsonl")
	old := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o644) // whatever the test's umask
	for _, path := range []string{fresh, old} {
		d, err := openFileDeadLetters(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteDeadLetters(context.Background(), []DeadLetter{{Time: time.Now(), Stage: "brevo", Reason: "invalid email", Payload: []byte(`{"email":"a@b"}`)}}); err != nil {
			t.Fatal(err)
		}
		d.Close()
		fi, _ := os.Stat(path)
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", path, perm)
		}
	}
	if fi, _ := os.Stat(filepath.Dir(fresh)); fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: mode %04o, want 0700", fi.Mode().Perm())
	}
}

package transforms

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline/state"
)

func TestJournalSurvivesATornTail(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(dir, "j")
	s, err := openStore(st, path)
	if err != nil {
		t.Fatal(err)
	}
	s.interval = 1 << 62 // no checkpoint: everything stays in the journal
	s.put("b", "k1", []byte("v1"))
	s.put("b", "k2", []byte("v2"))
	s.commit()
	s.del("b", "k2")
	s.put("b", "k3", []byte("v3"))
	s.commit()
	s.journal.Close()
	// A crash in the middle of a third record.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 0, 0, 0, 1, 2, 3, 4, 0})
	f.Close()

	s, err = openStore(st, path)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k1": "v1", "k2": "", "k3": "v3"} {
		if v, _ := s.get("b", k); string(v) != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	// Records appended after the recovery are replayed too.
	s.interval = 1 << 62
	s.put("b", "k4", []byte("v4"))
	s.commit()
	s.journal.Close()
	s, err = openStore(st, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.get("b", "k4"); string(v) != "v4" {
		t.Fatalf("k4 = %q after the second restart", v)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("journal not folded into the store: %d bytes", fi.Size())
	}
}

package state

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func openJournal(t *testing.T, dir string) (Store, *Journal) {
	t.Helper()
	st, err := Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(st, filepath.Join(dir, "state.journal"))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, j
}

func get(t *testing.T, j *Journal, bucket, key string) string {
	t.Helper()
	v, err := j.Get(bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func TestJournalSurvivesATornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.journal")
	st, j := openJournal(t, dir)
	defer st.Close()
	j.interval = 1 << 62 // no checkpoint: everything stays in the journal
	j.Put("b", "k1", []byte("v1"))
	j.Put("b", "k2", []byte("v2"))
	j.Commit()
	j.Delete("b", "k2")
	j.Put("b", "k3", []byte("v3"))
	j.Commit()
	j.journal.Close() // a crash: no checkpoint
	// A crash in the middle of a third record.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 0, 0, 0, 1, 2, 3, 4, 0})
	f.Close()

	j, err := OpenJournal(st, path)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k1": "v1", "k2": "", "k3": "v3"} {
		if v := get(t, j, "b", k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	// Records appended after the recovery are replayed too.
	j.interval = 1 << 62
	j.Put("b", "k4", []byte("v4"))
	j.Commit()
	j.journal.Close()
	j, err = OpenJournal(st, path)
	if err != nil {
		t.Fatal(err)
	}
	if v := get(t, j, "b", "k4"); v != "v4" {
		t.Fatalf("k4 = %q after the second restart", v)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("journal not folded into the store: %d bytes", fi.Size())
	}
	if v, _ := st.Get("b", "k3"); string(v) != "v3" {
		t.Fatalf("store k3 = %q after the replay, want v3", v)
	}
}

// A record whose checksum does not match (a write torn inside its body)
// ends the replay there: it and what follows were never acknowledged.
func TestJournalStopsAtACorruptRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.journal")
	st, j := openJournal(t, dir)
	defer st.Close()
	j.interval = 1 << 62
	j.Put("b", "k1", []byte("v1"))
	j.Commit()
	good := j.size
	j.Put("b", "k2", []byte("v2"))
	j.Commit()
	j.journal.Close()
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte{'X'}, good+9) // inside the second record's body
	f.Close()

	j, err := OpenJournal(st, path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v := get(t, j, "b", "k1"); v != "v1" {
		t.Errorf("k1 = %q, want v1", v)
	}
	if v := get(t, j, "b", "k2"); v != "" {
		t.Errorf("k2 = %q from a corrupt record", v)
	}
}

// Changes are visible before they are committed, and Sweep and KeysAfter
// see the store and the journal as one.
func TestJournalReadsItsOwnWrites(t *testing.T) {
	dir := t.TempDir()
	st, j := openJournal(t, dir)
	defer st.Close()
	defer j.Close()
	j.interval = 1 << 62
	for _, k := range []string{"a", "b", "c", "d"} {
		j.Put("ttl", k, []byte{1})
	}
	j.Put("ttl", "old", []byte{0})
	if get(t, j, "ttl", "a") != "\x01" {
		t.Fatal("an uncommitted Put is not visible")
	}
	if err := j.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	j.Delete("ttl", "b")
	j.Put("ttl", "e", []byte{1})
	j.Put("ttl", "older", []byte{0}) // in the journal: kept, it is recent
	if get(t, j, "ttl", "b") != "" {
		t.Fatal("an uncommitted Delete is not visible")
	}
	keys, err := j.KeysAfter("ttl", "a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c", "d", "e", "old", "older"}; !slices.Equal(keys, want) {
		t.Fatalf("KeysAfter = %v, want %v", keys, want)
	}
	var kept []string
	expired, err := j.Sweep("ttl", 10, func(v []byte) bool { return v[0] == 0 }, func(k []byte) { kept = append(kept, string(k)) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kept)
	kept = slices.Compact(kept)
	if !slices.Equal(expired, []string{"old"}) {
		t.Fatalf("expired = %v, want [old]", expired)
	}
	// b is deleted in the journal but still in the store until the
	// checkpoint: the owner deletes it again at worst.
	if want := []string{"a", "b", "c", "d", "e", "older"}; !slices.Equal(kept, want) {
		t.Fatalf("kept = %v, want %v", kept, want)
	}
}

func TestMemoryJournal(t *testing.T) {
	j := NewMemoryJournal()
	j.Put("b", "k", []byte("v"))
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	if get(t, j, "b", "k") != "v" || j.Durable() {
		t.Fatal("memory journal")
	}
	if keys, _ := j.KeysAfter("b", ""); !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("KeysAfter = %v", keys)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestJournalSurvivesKill9 commits in a child process with checkpoints
// every few milliseconds, kills it with SIGKILL at random points, and
// checks after each restart that every commit the child reported is
// there: a counter (the last committed value or a later one) and one key
// per commit, with every third one deleted again.
func TestJournalSurvivesKill9(t *testing.T) {
	if os.Getenv("TAJO_JOURNAL_CHILD") != "" {
		journalChild(t)
		return
	}
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	committed := -1
	for run := 0; run < 6; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesKill9$")
		cmd.Env = append(os.Environ(), "TAJO_JOURNAL_CHILD=1", "TAJO_JOURNAL_DIR="+dir, "TAJO_JOURNAL_START="+strconv.Itoa(committed+1))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 50 + rng.Intn(500)
		sc := bufio.NewScanner(out)
		for n := 0; sc.Scan(); {
			if i, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
				committed = i
				if n++; n == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
					break
				}
			}
		}
		cmd.Wait()
		if committed < 0 {
			t.Fatal("the child committed nothing")
		}

		st, j := openJournal(t, dir)
		c, _ := strconv.Atoi(get(t, j, "count", "n"))
		if c < committed {
			t.Fatalf("run %d: counter %d after kill -9, %d was committed", run, c, committed)
		}
		for i := 0; i <= committed; i++ {
			want := "v" + strconv.Itoa(i)
			if i%3 == 0 {
				want = ""
			}
			if v := get(t, j, "keys", strconv.Itoa(i)); v != want {
				t.Fatalf("run %d: key %d = %q after kill -9, want %q", run, i, v, want)
			}
		}
		j.Close()
		st.Close()
		committed = c // the child's next start: what survived
	}
}

func journalChild(t *testing.T) {
	dir := os.Getenv("TAJO_JOURNAL_DIR")
	start, _ := strconv.Atoi(os.Getenv("TAJO_JOURNAL_START"))
	st, j := openJournal(t, dir)
	defer st.Close()
	j.interval = 5 * time.Millisecond
	for i := start; i < start+100000; i++ {
		k := strconv.Itoa(i)
		j.Put("keys", k, []byte("v"+k))
		if i%3 == 0 {
			j.Delete("keys", k)
		}
		j.Put("count", "n", []byte(k))
		if err := j.Commit(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i)
	}
	j.Close()
}

//go:build integration

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
)

// Everything tajo writes under data_dir holds customer data: after a run
// with the embedded broker, the file sink, the dead-letter file (and the
// embedded ClickHouse history when its library is here), no file or
// directory under data_dir has a group or other permission bit, whatever
// the umask tajo was started with.
func TestDataDirIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // what tajo is usually started with
	defer syscall.Umask(old)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	history := ""
	if clickhouse.CheckLibrary() == nil {
		history = "  clickhouse: {}\n"
	}
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
log: {level: info}
pipeline: {progress_interval: 1s, commit_interval: 200ms}
dead_letter: {path: dead/dead-letter.jsonl}
sources:
  generator: {count: 300, rate: 0, seed: 7}
sinks:
  file: {path: out/events.jsonl}
%s`, data, history)
	cfgPath := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "tajo.log")
	cmd := startTajo(t, cfgPath, logPath)
	out := filepath.Join(data, "out", "events.jsonl")
	deadline := time.Now().Add(2 * time.Minute)
	for len(idsInFile(t, out)) < 300 {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the events did not reach the file sink:\n%s", tail(string(b), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}

	seen := map[string]bool{}
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return nil // removed meanwhile
		}
		rel, _ := filepath.Rel(data, path)
		seen[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		if fi.Mode()&fs.ModeSymlink == 0 && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %s, want no group or other bits", rel, fi.Mode())
		}
		return nil
	})
	for _, want := range []string{".", "broker", "state.db", "out", "dead"} {
		if !seen[want] {
			t.Errorf("nothing checked under %s (what is there: %v)", want, seen)
		}
	}
	if history != "" && !seen["clickhouse"] {
		t.Errorf("the ClickHouse history is not under data_dir: %v", seen)
	}
	t.Logf("checked data_dir entries: %v", seen)
}

package file

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

func TestFileSinkAppendsAndRepairsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	// A previous run was killed in the middle of a line.
	os.WriteFile(path, []byte(`{"a":1}`+"\n"+`{"b":`), 0o644)
	s := New(Config{Path: path})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := s.Write(context.Background(), []*pipeline.Record{{Value: []byte(`{"c":"ü"}`)}, {Value: []byte(`{"d":4}` + "\n")}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	got, _ := os.ReadFile(path)
	if want := `{"a":1}` + "\n" + `{"c":"ü"}` + "\n" + `{"d":4}` + "\n"; string(got) != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
}

func TestFileSinkNoNewlineAtAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	os.WriteFile(path, []byte(`{"torn`), 0o644)
	s := New(Config{Path: path})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	if got, _ := os.ReadFile(path); len(got) != 0 {
		t.Fatalf("torn first line kept: %q", got)
	}
}

// The output holds whole customer records: owner-only, whatever the umask,
// and an existing world-readable file is narrowed.
func TestFileSinkOutputIsPrivate(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "out", "events.jsonl")
	old := filepath.Join(dir, "old.jsonl")
	os.WriteFile(old, nil, 0o644)
	os.Chmod(old, 0o644)
	for _, path := range []string{fresh, old} {
		s := New(Config{Path: path})
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close(context.Background())
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", path, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(filepath.Dir(fresh)); fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: mode %04o, want 0700", fi.Mode().Perm())
	}
}

// A record a stage changed (Event set, Value dropped) is written as its
// event encodes; one whose encoding fails is rejected alone.
func TestFileSinkWritesChangedEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := New(Config{Path: path})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	src := []byte(`{"schema":"tajo.event.v1","id":"e1","source":"s","shop":"a","type":"t","occurred_at":"2026-01-02T03:04:05Z","received_at":"0001-01-01T00:00:00Z","entity":{"kind":"customer","id":"7"}}`)
	changed := func(attrs string) *pipeline.Record {
		ev, err := schemas.DecodeEvent(src)
		if err != nil {
			t.Fatal(err)
		}
		ev.SetSource(src)
		ev.Attributes = json.RawMessage(attrs)
		r := &pipeline.Record{Value: src}
		r.SetEvent(ev)
		return r
	}
	err := s.Write(context.Background(), []*pipeline.Record{changed(`{"AOV":1.5}`), changed(`[1]`), {Value: []byte(`{"d":4}`)}})
	var be *pipeline.BatchError
	if !errors.As(err, &be) || be.Errs[0] != nil || be.Errs[1] == nil || be.Errs[2] != nil {
		t.Fatalf("want only the second record rejected, got %v", err)
	}
	s.Close(context.Background())
	got, _ := os.ReadFile(path)
	if want := string(src[:len(src)-1]) + `,"attributes":{"AOV":1.5}}` + "\n" + `{"d":4}` + "\n"; string(got) != want {
		t.Fatalf("file = %s\nwant   %s", got, want)
	}
}

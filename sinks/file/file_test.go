package file

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
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

package file

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
)

func readAll(t *testing.T, s *Source) []string {
	t.Helper()
	var out []string
	for {
		recs, err := s.Read(context.Background(), 2)
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileSourceReadsLinesAndResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.jsonl")
	content := `{"shop":"a.myshopify.com","n":1}` + "\n\n" + `{"shop":"b","n":"ünïcode ✓"}` + "\r\n" + `not json` + "\n" + `{"n":4}`
	os.WriteFile(path, []byte(content), 0o644)
	st, _ := state.Open(filepath.Join(dir, "s.db"))
	j, err := state.OpenJournal(st, filepath.Join(dir, "s.journal"))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Path: path, MaxLineBytes: 4096}, j, "f")
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Read(context.Background(), 1)
	if string(recs[0].Key) != "a.myshopify.com" {
		t.Fatalf("key = %q", recs[0].Key)
	}
	got := append([]string{string(recs[0].Value)}, readAll(t, s)...)
	want := []string{`{"shop":"a.myshopify.com","n":1}`, `{"shop":"b","n":"ünïcode ✓"}`, `not json`, `{"n":4}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q", got)
	}
	// Ack through the second line; a new source starts at the third.
	s.Close(context.Background())
	s2 := New(Config{Path: path, MaxLineBytes: 4096}, j, "f")
	s2.Open(context.Background())
	first, _ := s2.Read(context.Background(), 2)
	if err := s2.Ack(context.Background(), []pipeline.Position{first[1].Position}); err != nil {
		t.Fatal(err)
	}
	s2.Close(context.Background())
	// The position is in the journal file: a new process reads it back.
	j.Close()
	st.Close()
	st, _ = state.Open(filepath.Join(dir, "s.db"))
	defer st.Close()
	j, err = state.OpenJournal(st, filepath.Join(dir, "s.journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s3 := New(Config{Path: path, MaxLineBytes: 4096}, j, "f")
	s3.Open(context.Background())
	if got := readAll(t, s3); len(got) != 2 || got[0] != "not json" {
		t.Fatalf("resumed at the wrong line: %q", got)
	}
}

func TestFileSourceLineTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(path, []byte(strings.Repeat("x", 5000)+"\n"), 0o644)
	s := New(Config{Path: path, MaxLineBytes: 1024}, nil, "f")
	s.Open(context.Background())
	_, err := s.Read(context.Background(), 10)
	if err == nil || pipeline.ClassOf(err) != pipeline.Fatal || !strings.Contains(err.Error(), "max_line_bytes") {
		t.Fatalf("want a fatal max_line_bytes error, got %v", err)
	}
}

func TestFileSourceFollowWaitsForWholeLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(path, []byte(`{"a":1}`+"\n"+`{"b":`), 0o644)
	s := New(Config{Path: path, MaxLineBytes: 4096, Follow: true}, nil, "f")
	s.Open(context.Background())
	recs, err := s.Read(context.Background(), 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("got %d records, %v", len(recs), err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2}\n")
	f.Close()
	recs, err = s.Read(context.Background(), 10)
	if err != nil || len(recs) != 1 || string(recs[0].Value) != `{"b":2}` {
		t.Fatalf("got %v, %v", recs, err)
	}
}

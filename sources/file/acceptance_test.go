package file

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/pipeline/state"
)

func TestAcceptance(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	for _, r := range pipelinetest.Events(30) {
		buf.Write(r.Value)
		buf.WriteByte('\n')
	}
	path := filepath.Join(dir, "in.jsonl")
	os.WriteFile(path, buf.Bytes(), 0o644)
	st, err := state.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := state.OpenJournal(st, filepath.Join(dir, "s.journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pipelinetest.SourceAcceptance(t, pipelinetest.SourceHarness{
		New: func(*testing.T) pipeline.Source {
			return New(Config{Path: path, MaxLineBytes: 1 << 20}, j, "sources.file")
		},
		Want:    30,
		Bounded: true,
	})
}

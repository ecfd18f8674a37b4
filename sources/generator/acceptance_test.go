package generator

import (
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/pipeline/state"
)

func TestAcceptance(t *testing.T) {
	dir := t.TempDir()
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
	cfg := *NewConfig().(*Config)
	cfg.Count = 40
	pipelinetest.SourceAcceptance(t, pipelinetest.SourceHarness{
		New:     func(*testing.T) pipeline.Source { return New(cfg, j, "sources.generator") },
		Want:    40,
		Bounded: true,
	})
}

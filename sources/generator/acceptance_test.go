package generator

import (
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/pipeline/state"
)

func TestAcceptance(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := *NewConfig().(*Config)
	cfg.Count = 40
	pipelinetest.SourceAcceptance(t, pipelinetest.SourceHarness{
		New:     func(*testing.T) pipeline.Source { return New(cfg, st, "sources.generator") },
		Want:    40,
		Bounded: true,
	})
}

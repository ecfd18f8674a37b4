package file

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
)

func TestAcceptance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	pipelinetest.SinkAcceptance(t, pipelinetest.SinkHarness{
		New: func(*testing.T) pipeline.Sink { return New(Config{Path: path}) },
		Delivered: func(t *testing.T) []string {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var ids []string
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var ev struct{ ID string }
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("line is not JSON: %v", err)
				}
				ids = append(ids, ev.ID)
			}
			return ids
		},
	})
}

package transforms

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline/config"
)

// TestShippedPipelineYAMLTests runs the tests: section of the default
// pipeline.yaml against its own field_mapping and transforms, as
// `tajo test -c pipeline.yaml` does (the other sections need components
// this package does not import, so only ours are kept).
func TestShippedPipelineYAMLTests(t *testing.T) {
	b, err := os.ReadFile("../pipeline.yaml")
	if err != nil {
		t.Skip("no pipeline.yaml beside the package")
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0]
	keep := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		switch doc.Content[i].Value {
		case "version", "field_mapping", "transforms", "tests":
			keep.Content = append(keep.Content, doc.Content[i], doc.Content[i+1])
		}
	}
	out, err := yaml.Marshal(keep)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(out, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if n := RunTests(cfg, &w); n > 0 || !strings.Contains(w.String(), "0 failed") {
		t.Fatalf("pipeline.yaml tests:\n%s", w.String())
	}
	if strings.Count(w.String(), "PASS") < 4 {
		t.Fatalf("fewer tests than shipped:\n%s", w.String())
	}
}

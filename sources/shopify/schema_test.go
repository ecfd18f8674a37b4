package shopify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tajo/tajo/schemas"
)

// TestEventsMatchSchemas validates the envelope and the data of the event
// of every fixture against the published JSON Schemas, with formats
// (date-time) asserted.
func TestEventsMatchSchemas(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	add := func(url string, b []byte) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	add("mem:///event.json", schemas.EventJSONSchema)
	envelope, err := c.Compile("mem:///event.json")
	if err != nil {
		t.Fatal(err)
	}
	compiled := map[string]*jsonschema.Schema{}
	object := func(name string) *jsonschema.Schema {
		if s, ok := compiled[name]; ok {
			return s
		}
		b, err := schemas.ObjectJSONSchemas.ReadFile("objects/" + name + ".schema.json")
		if err != nil {
			t.Fatal(err)
		}
		add("mem:///"+name+".json", b)
		s, err := c.Compile("mem:///" + name + ".json")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compiled[name] = s
		return s
	}
	validate := func(s *jsonschema.Schema, b []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		return s.Validate(v)
	}

	for _, tp := range Topics() {
		if _, ok := schemas.DataObject(tp.Type); !ok {
			t.Errorf("%s: type %s has no data object", tp.Name, tp.Type)
		}
	}
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	byFile := map[string]Topic{}
	for _, tp := range Topics() {
		byFile[fixtureName(tp.Name)] = tp
	}
	for _, f := range files {
		tp := byFile[filepath.Base(f)]
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Normalize(webhookFor(t, tp.Name, body))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		env, err := marshalData(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(envelope, env); err != nil {
			t.Errorf("%s envelope: %v", tp.Name, err)
		}
		name, _ := schemas.DataObject(ev.Type)
		if err := validate(object(name), ev.Data); err != nil {
			t.Errorf("%s data (%s): %v", tp.Name, name, err)
		}
	}
}

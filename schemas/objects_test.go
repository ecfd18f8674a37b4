package schemas

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite objects/*.schema.json from the Go types")

// objectTypes are the canonical objects with a schema file.
var objectTypes = map[string]any{
	"customer": Customer{}, "order": Order{}, "checkout": Checkout{}, "cart": Cart{},
	"product": Product{}, "inventory_level": InventoryLevel{}, "inventory_item": InventoryItem{},
	"fulfillment": Fulfillment{}, "refund": Refund{}, "shop": Shop{}, "deletion": Deletion{},
	"email_consent_update": EmailConsentUpdate{}, "sms_consent_update": SMSConsentUpdate{},
	"customer_tags_change": CustomerTagsChange{}, "purchasing_summary": PurchasingSummary{},
	"customer_data_request": CustomerDataRequest{}, "customer_redact": CustomerRedact{},
	"shop_redact": ShopRedact{},
}

func TestObjectSchemasUpToDate(t *testing.T) {
	for name, v := range objectTypes {
		want := generateSchema(name, reflect.TypeOf(v))
		path := filepath.Join("objects", name+".schema.json")
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := ObjectJSONSchemas.ReadFile("objects/" + name + ".schema.json")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing (%v): run go test ./schemas -run TestObjectSchemasUpToDate -update", path, err)
		}
	}
	files, _ := filepath.Glob("objects/*.schema.json")
	if !*update && len(files) != len(objectTypes) {
		t.Errorf("%d schema files for %d objects", len(files), len(objectTypes))
	}
}

func TestEveryDataObjectHasASchema(t *testing.T) {
	for typ, obj := range dataObjects {
		if _, ok := objectTypes[obj]; !ok {
			t.Errorf("%s carries %q, which has no schema", typ, obj)
		}
	}
}

// generateSchema writes a JSON Schema (draft 2020-12) for a struct type:
// fields without omitempty/omitzero are required, named nested structs go
// to $defs.
func generateSchema(name string, t reflect.Type) []byte {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(t)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://tajo.dev/schemas/objects/" + name + ".schema.json"
	root["title"] = t.Name()
	root["description"] = "Canonical " + t.Name() + " (schemas." + t.Name() + "), generated from the Go type."
	if len(g.defs) > 0 {
		root["$defs"] = g.defs
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

type schemaGen struct{ defs map[string]any }

var (
	idType    = reflect.TypeFor[ID]()
	countType = reflect.TypeFor[Count]()
	moneyType = reflect.TypeFor[Money]()
	tagsType  = reflect.TypeFor[Tags]()
	textType  = reflect.TypeFor[Text]()
	timeType  = reflect.TypeFor[time.Time]()
)

func (g *schemaGen) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case idType:
		return map[string]any{"type": "integer", "minimum": 0, "description": "Upstream id; may exceed 2^53, decode as int64."}
	case countType:
		return map[string]any{"type": "integer", "minimum": 0}
	case moneyType:
		return map[string]any{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]+)?$`, "description": "Exact decimal amount."}
	case tagsType:
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	case textType:
		return map[string]any{"type": "string"}
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // breaks cycles
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	panic("no schema for " + t.String())
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

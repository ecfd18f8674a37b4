package transforms

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/transforms/expression"
)

// FieldMapping is the top-level `field_mapping:` section, the seed's sugar
// over a map stage. Two forms mix freely:
//
//	field_mapping:
//	  first_name: FIRSTNAME          # Shopify field → Brevo attribute
//	  AOV: safeDiv(money(customer.total_spent), customer.orders_count)  # attribute → expression
//	  loyalty_tier: false            # drop a default
//
// A lower-case key naming a known field (see expression.Defaults) or a
// customer field renames it; any other key is a target and its value an
// expression. The defaults below are built in, so an absent section maps
// every seed field.
type FieldMapping struct {
	entries []mapping
	err     []fieldErr
}

type mapping struct {
	field  string // the Shopify field of a default, "" for user targets
	target string
	src    string
}

type fieldErr struct{ key, msg, hint string }

// NewFieldMapping returns the defaults.
func NewFieldMapping() any {
	f := &FieldMapping{}
	for _, d := range expression.Defaults {
		f.entries = append(f.entries, mapping{field: d.Field, target: d.Target, src: d.Expr})
	}
	return f
}

var customerFields = expression.FieldNames(expression.CustomerView{})

// UnmarshalYAML reads the section in order; problems are reported by
// Validate with their path.
func (f *FieldMapping) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		f.err = append(f.err, fieldErr{"", "expected a mapping of Shopify field → attribute or attribute → expression", ""})
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			f.err = append(f.err, fieldErr{key, "expected an attribute name or an expression", ""})
			continue
		}
		off := val.Tag == "!!null" || (val.Tag == "!!bool" && (val.Value == "false"))
		if d, ok := defaultByField(key); ok || isLowerField(key) {
			// Shopify field → target.
			f.remove(func(m mapping) bool { return m.field == key })
			if off {
				continue
			}
			src := "customer." + key
			if ok {
				src = d.Expr
			}
			if !isTarget(val.Value) {
				f.err = append(f.err, fieldErr{key, fmt.Sprintf("%q is not an attribute name", val.Value), "write FIELD: ATTRIBUTE, e.g. first_name: FIRSTNAME, or ATTRIBUTE: expression"})
				continue
			}
			f.remove(func(m mapping) bool { return m.target == val.Value })
			f.entries = append(f.entries, mapping{field: key, target: val.Value, src: src})
			continue
		}
		if strings.ToLower(key) == key && !isSpecialTarget(key) {
			hint := config.Closest(key, append(defaultFields(), customerFields...))
			if hint != "" {
				hint = fmt.Sprintf("did you mean %s?", hint)
			} else {
				hint = "attribute names are upper case, e.g. AOV; Shopify fields are the customer fields of the README"
			}
			f.err = append(f.err, fieldErr{key, "unknown Shopify field", hint})
			continue
		}
		if off {
			f.remove(func(m mapping) bool { return m.target == key })
			continue
		}
		replaced := false
		for j := range f.entries {
			if f.entries[j].target == key {
				f.entries[j].src, f.entries[j].field, replaced = val.Value, "", true
			}
		}
		if !replaced {
			f.entries = append(f.entries, mapping{target: key, src: val.Value})
		}
	}
	return nil
}

func (f *FieldMapping) remove(match func(mapping) bool) {
	out := f.entries[:0]
	for _, m := range f.entries {
		if !match(m) {
			out = append(out, m)
		}
	}
	f.entries = out
}

func defaultByField(k string) (expression.Default, bool) {
	for _, d := range expression.Defaults {
		if d.Field == k {
			return d, true
		}
	}
	return expression.Default{}, false
}

func defaultFields() []string {
	var out []string
	for _, d := range expression.Defaults {
		out = append(out, d.Field)
	}
	return out
}

func isLowerField(k string) bool {
	for _, f := range customerFields {
		if f == k {
			return true
		}
	}
	return false
}

func isSpecialTarget(k string) bool {
	switch k {
	case "email", "ext_id", "phone", "email_consent", "sms_consent":
		return true
	}
	return false
}

func isTarget(s string) bool {
	if s == "" || isSpecialTarget(s) {
		return s != ""
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Validate compiles every entry.
func (f *FieldMapping) Validate(p *config.Problems, path string) {
	for _, e := range f.err {
		p.Add(config.Join(path, e.key), e.msg, e.hint)
	}
	for _, m := range f.entries {
		if _, err := expression.Compile(m.src); err != nil {
			key := m.target
			if m.field != "" {
				key = m.field
			}
			p.Add(config.Join(path, key), err.Error(), "")
		}
	}
}

// fields returns the mapping as map-stage fields.
func (f *FieldMapping) fields() []mapping { return f.entries }

// buildFieldMapping is the field_mapping stage: a map stage over the
// section's entries, for events about a customer unless a when says
// otherwise. The section reports its own problems (FieldMapping.Validate),
// once, not per stage.
func buildFieldMapping(c *chain, _ Stage, when *expression.Program, _ string, _ *config.Problems) pipeline.Transform {
	var fm *FieldMapping
	if c != nil {
		fm = c.fieldMapping
	} else {
		fm = NewFieldMapping().(*FieldMapping) // the section validates itself
	}
	st := newMapStage(c, fm.fields(), when, "field_mapping", &config.Problems{})
	st.contactOnly = when == nil
	return st
}

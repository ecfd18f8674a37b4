package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ScalarForm is implemented by section types that also accept a scalar in
// place of a mapping, e.g. `broker: none`.
type ScalarForm interface {
	FromScalar(value string) error
}

var (
	durationType    = reflect.TypeOf(time.Duration(0))
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	scalarFormType  = reflect.TypeOf((*ScalarForm)(nil)).Elem()
)

// decoder walks a YAML tree into Go values, checking every key against the
// target's fields so that an unknown key is reported with its full path,
// and reporting every type error with its path instead of stopping at the
// first one.
type decoder struct {
	problems *Problems
	lookup   LookupEnv
	// envRefs records, per path, the variables its value referenced.
	envRefs map[string][]string
}

// interpolateTree expands environment variables in every scalar, recording
// each failure at its path.
func (d *decoder) interpolateTree(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			d.interpolateTree(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.interpolateTree(n.Content[i+1], Join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.interpolateTree(c, Join(path, i))
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Style != 0 || strings.Contains(n.Value, "${") {
			var names []string
			v, err := interpolate(n.Value, func(name string) (string, bool) {
				names = append(names, name)
				return d.lookup(name)
			})
			if len(names) > 0 {
				if d.envRefs == nil {
					d.envRefs = map[string][]string{}
				}
				d.envRefs[path] = names
			}
			if err != nil {
				var u *undefinedEnvError
				if errors.As(err, &u) {
					d.problems.Add(path, err.Error(), fmt.Sprintf("export %s, or write ${%s:-default}", u.name, u.name))
				} else {
					d.problems.Add(path, err.Error(), "")
				}
				return
			}
			if v != n.Value {
				n.Value = v
				// A value that came from the environment is typed by the
				// target field, not by the quoting around the reference.
				n.Tag, n.Style = "", 0
			}
		}
	}
}

// decode fills v (a settable value) from n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	t := v.Type()
	if t == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // keep the default
	}
	// Custom forms first.
	if v.CanAddr() {
		p := v.Addr()
		if n.Kind == yaml.ScalarNode && p.Type().Implements(scalarFormType) && t.Kind() == reflect.Struct {
			if err := p.Interface().(ScalarForm).FromScalar(n.Value); err != nil {
				d.problems.Add(path, err.Error(), "")
			}
			return
		}
		if p.Type().Implements(unmarshalerType) || (p.Type().Implements(textUnmarshaler) && n.Kind == yaml.ScalarNode) {
			if err := n.Decode(p.Interface()); err != nil {
				d.problems.Add(path, cleanYAMLError(err), "")
			}
			return
		}
	}
	if t == reflect.TypeOf(Component{}) {
		d.problems.Add(path, "internal: component outside a component map", "")
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problems.Add(path, fmt.Sprintf("expected a list, got %s", describe(n)), "")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), Join(path, i))
		}
		v.Set(s)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.problems.Add(path, cleanYAMLError(err), "")
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problems.Add(path, fmt.Sprintf("expected %s, got %s", kindName(v.Type()), describe(n)), "")
		return
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.problems.Add(path, fmt.Sprintf("expected a duration, got %q", n.Value), `write it like "500ms", "30s" or "1h30m"`)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Kind() == reflect.String {
		// Anything scalar is acceptable as a string (a port, a number-like id).
		v.SetString(n.Value)
		return
	}
	tmp := reflect.New(v.Type())
	if err := n.Decode(tmp.Interface()); err != nil {
		d.problems.Add(path, fmt.Sprintf("expected %s, got %q", kindName(v.Type()), n.Value), "")
		return
	}
	v.Set(tmp.Elem())
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problems.Add(path, fmt.Sprintf("expected a mapping, got %s", describe(n)), "")
		return
	}
	fields := structFields(v.Type())
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		p := Join(path, key)
		if seen[key] {
			d.problems.Add(p, "key appears twice", "")
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			d.problems.Add(p, "unknown key", hintFor(key, names))
			continue
		}
		d.decode(n.Content[i+1], v.FieldByIndex(idx), p)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problems.Add(path, fmt.Sprintf("expected a mapping, got %s", describe(n)), "")
		return
	}
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		p := Join(path, key)
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(reflect.ValueOf(key).Convert(t.Key())); old.IsValid() {
			elem.Set(old)
		}
		d.decode(n.Content[i+1], elem, p)
		v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
	}
}

// structFields maps yaml keys to field indexes, following inline structs.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, idx := range structFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

func hintFor(key string, names []string) string {
	if s := suggest(key, names); s != "" {
		return s
	}
	if len(names) == 0 {
		return ""
	}
	return "known keys: " + strings.Join(slices.Compact(slices.Sorted(slices.Values(names))), ", ")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n  ")
	return s
}

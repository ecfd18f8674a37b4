package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Component is one configured source, connector or sink.
type Component struct {
	// Enabled is false only when the entry says `enabled: false`.
	Enabled bool
	// Spec is the decoded configuration, of the type the component
	// registered (a pointer).
	Spec any
}

// Validatable is implemented by component and section configs that check
// themselves; they report problems under path.
type Validatable interface {
	Validate(p *Problems, path string)
}

var (
	regMu      sync.RWMutex
	components = map[string]map[string]func() any{} // section → type → new default
	sections   = map[string]func() any{}
	fixups     []func(*Config, *Problems)
)

// RegisterFixup adds a step that runs after decoding and before validation,
// for settings that fill in others (the dev section's simulators supply
// the credentials a first run lacks). A problem it adds at a path is the
// one reported there: validation's own for that path is dropped.
func RegisterFixup(fn func(*Config, *Problems)) {
	regMu.Lock()
	defer regMu.Unlock()
	fixups = append(fixups, fn)
}

func registeredFixups() []func(*Config, *Problems) {
	regMu.RLock()
	defer regMu.RUnlock()
	return append([]func(*Config, *Problems){}, fixups...)
}

// Register makes a component type known in a section ("sources",
// "connectors" or "sinks"). newDefault returns a pointer to its config with
// defaults filled in; an `enabled` key is handled for every component.
func Register(section, name string, newDefault func() any) {
	regMu.Lock()
	defer regMu.Unlock()
	if components[section] == nil {
		components[section] = map[string]func() any{}
	}
	if _, dup := components[section][name]; dup {
		panic(fmt.Sprintf("config: %s.%s registered twice", section, name))
	}
	components[section][name] = newDefault
}

// RegisterSection adds a top-level section (e.g. "transforms", "tests").
// newDefault returns a pointer to its config with defaults filled in.
func RegisterSection(name string, newDefault func() any) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := sections[name]; dup {
		panic(fmt.Sprintf("config: section %s registered twice", name))
	}
	sections[name] = newDefault
}

func lookupSection(name string) (func() any, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	s, ok := sections[name]
	return s, ok
}

func registeredSections() map[string]func() any {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make(map[string]func() any, len(sections))
	for k, v := range sections {
		out[k] = v
	}
	return out
}

func sectionNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(sections))
	for k := range sections {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func componentTypes(section string) []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return slices.Sorted(maps.Keys(components[section]))
}

func reflectPtr(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		panic("config: registered configs must be pointers")
	}
	return rv.Elem()
}

// decodeComponents decodes each entry of a component section into its
// registered type.
func (d *decoder) decodeComponents(section string, nodes map[string]yaml.Node) map[string]*Component {
	out := map[string]*Component{}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[name]
		path := Join(section, name)
		regMu.RLock()
		newDefault := components[section][name]
		regMu.RUnlock()
		if newDefault == nil {
			known := componentTypes(section)
			hint := suggest(name, known)
			if hint == "" && len(known) > 0 {
				hint = fmt.Sprintf("known: %v", known)
			}
			d.problems.Add(path, "unknown "+singular(section), hint)
			continue
		}
		comp := &Component{Enabled: true, Spec: newDefault()}
		if n.Kind == yaml.MappingNode {
			n = stripEnabled(d, n, path, comp)
		} else if n.Kind == yaml.ScalarNode && (n.Tag == "!!bool" || n.Value == "true" || n.Value == "false") {
			// `file: false` is shorthand for `file: {enabled: false}`.
			var on bool
			if err := n.Decode(&on); err != nil {
				d.problems.Add(path, "expected a mapping or true/false", "")
			}
			comp.Enabled = on
			out[name] = comp
			continue
		}
		d.decode(&n, reflectPtr(comp.Spec), path)
		out[name] = comp
	}
	return out
}

func stripEnabled(d *decoder, n yaml.Node, path string, comp *Component) yaml.Node {
	c := n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "enabled" {
			if err := n.Content[i+1].Decode(&comp.Enabled); err != nil {
				d.problems.Add(Join(path, "enabled"), "expected true or false", "")
			}
			continue
		}
		c.Content = append(c.Content, n.Content[i], n.Content[i+1])
	}
	return c
}

func singular(section string) string {
	switch section {
	case "sources":
		return "source"
	case "sinks":
		return "sink"
	case "connectors":
		return "connector"
	}
	return section
}

// decodeStructNamed decodes the core keys, mentioning the extension
// sections in the hint for an unknown top-level key.
func (d *decoder) decodeStructNamed(n *yaml.Node, cfg *Config, path string, extra []string) {
	before := len(d.problems.list)
	d.decodeStruct(n, reflect.ValueOf(cfg).Elem(), path)
	for i := before; i < len(d.problems.list); i++ {
		pr := &d.problems.list[i]
		if pr.Message == "unknown key" && !strings.ContainsAny(pr.Path, ".[") {
			names := append(slices.Sorted(maps.Keys(structFields(reflect.TypeOf(*cfg)))), extra...)
			pr.Hint = hintFor(pr.Path, names)
		}
	}
}

// Ability is a role a top-level key names a sink for (history.sink,
// dead_letter.sink); a sink type has it when it implements what the role
// needs, which the engine derives from its constructor when it registers.
type Ability string

// The abilities keys name sinks for.
const (
	KeepsHistory      Ability = "keep the sync history"
	StoresDeadLetters Ability = "store dead letters"
)

var abilities = map[string]map[Ability]bool{} // "section.name" → abilities

// RegisterAbilities records what a registered component type can be named
// for.
func RegisterAbilities(section, name string, as ...Ability) {
	regMu.Lock()
	defer regMu.Unlock()
	key := Join(section, name)
	if abilities[key] == nil {
		abilities[key] = map[Ability]bool{}
	}
	for _, a := range as {
		abilities[key][a] = true
	}
}

// Can says whether the registered component type section.name has a.
func Can(section, name string, a Ability) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	return abilities[Join(section, name)][a]
}

// sinksThatCan lists the enabled sinks with a, by name.
func (c *Config) sinksThatCan(a Ability) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(c.Components["sinks"])) {
		if c.Component("sinks", name) != nil && Can("sinks", name, a) {
			out = append(out, name)
		}
	}
	return out
}

// checkNamedSink refuses at path a sink name that is not an enabled sink
// with ability a, saying which ones could be named; alt is the other way
// out (a path instead of a sink, or no history).
func (c *Config) checkNamedSink(p *Problems, path, name string, a Ability, alt string) {
	enabled := c.Component("sinks", name) != nil
	if enabled && Can("sinks", name, a) {
		return
	}
	if _, listed := c.Sinks[name]; listed && c.Components["sinks"][name] == nil {
		return // an unknown sink type, already reported at sinks.<name>
	}
	msg := fmt.Sprintf("%q is not an enabled sink", name)
	if enabled {
		msg = fmt.Sprintf("sink %q cannot %s", name, a)
	}
	var hint string
	if able := c.sinksThatCan(a); len(able) > 0 {
		hint = fmt.Sprintf("name an enabled sink that can: %s", strings.Join(able, ", "))
	} else {
		var types []string
		for _, t := range componentTypes("sinks") {
			if Can("sinks", t, a) {
				types = append(types, t)
			}
		}
		hint = fmt.Sprintf("enable a sink that can (%s) under sinks:", strings.Join(types, ", "))
	}
	if alt != "" {
		hint += ", " + alt
	}
	p.Add(path, msg, hint)
}

// validateHistory checks history.sink, or fills it in: unset, the history
// is kept by the one enabled sink that can keep it, if there is one.
func (c *Config) validateHistory(p *Problems) {
	if c.History.Sink != "" {
		alt := ""
		if len(c.sinksThatCan(KeepsHistory)) == 0 {
			alt = "or remove history.sink to keep no history"
		}
		c.checkNamedSink(p, "history.sink", c.History.Sink, KeepsHistory, alt)
		return
	}
	switch able := c.sinksThatCan(KeepsHistory); len(able) {
	case 0:
	case 1:
		c.History.Sink = able[0]
	default:
		p.Add("history.sink", fmt.Sprintf("%d enabled sinks can keep the sync history (%s)", len(able), strings.Join(able, ", ")), "name the one that keeps it, e.g. history: {sink: "+able[0]+"}")
	}
}

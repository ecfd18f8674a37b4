package config

import (
	"strings"
	"testing"
)

// painter offers a color to any component that derives one.
type painter struct {
	Color string `yaml:"color"`
}

func (p *painter) OfferedColor() string { return p.Color }

// easel derives its color from a painter, unless it names its own; its
// validation sees the derived color.
type easel struct {
	Color string `yaml:"color"`
}

func (e *easel) Derive(c *Config, _ *Problems) {
	c.Each(func(_ string, spec any) {
		if o, ok := spec.(interface{ OfferedColor() string }); ok && e.Color == "" {
			e.Color = o.OfferedColor()
		}
	})
}

func (e *easel) Validate(p *Problems, path string) {
	p.OneOf(Join(path, "color"), e.Color, "red", "green")
}

func init() {
	Register("connectors", "painter", func() any { return &painter{} })
	Register("sinks", "easel", func() any { return &easel{} })
}

// A component's Derive fills its config from another's before validation,
// what it was written wins, and a disabled component offers nothing.
func TestDeriveRunsBeforeValidation(t *testing.T) {
	for _, c := range []struct{ name, yaml, want, problem string }{
		{"derived", "connectors: {painter: {color: green}}\nsinks: {easel: {}}", "green", ""},
		{"derived and judged", "connectors: {painter: {color: blue}}\nsinks: {easel: {}}", "blue", "sinks.easel.color: must be one of red, green"},
		{"written wins", "connectors: {painter: {color: blue}}\nsinks: {easel: {color: red}}", "red", ""},
		{"disabled offers nothing", "connectors: {painter: {enabled: false, color: green}}\nsinks: {easel: {}}", "", "sinks.easel.color: must be one of red, green"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte("version: 1\ndata_dir: d\n"+c.yaml+"\n"), env(nil))
			if cfg == nil {
				t.Fatal(err)
			}
			if got := cfg.Components["sinks"]["easel"].Spec.(*easel).Color; got != c.want {
				t.Errorf("easel color %q, want %q", got, c.want)
			}
			if c.problem == "" && err != nil {
				t.Errorf("unexpected problems: %v", err)
			}
			if c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)) {
				t.Errorf("problems %v, want %q", err, c.problem)
			}
		})
	}
}

// Each visits enabled components only, sources before connectors before
// sinks, names sorted.
func TestEachVisitsEnabledComponentsInOrder(t *testing.T) {
	cfg, err := Parse([]byte("version: 1\ndata_dir: d\nconnectors: {painter: {color: red}}\nsinks: {easel: {color: red}, widget: {enabled: false}}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	cfg.Each(func(path string, _ any) { got = append(got, path) })
	if strings.Join(got, " ") != "connectors.painter sinks.easel" {
		t.Errorf("Each visited %v", got)
	}
}

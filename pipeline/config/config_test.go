package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

type widget struct {
	Color string        `yaml:"color"`
	Size  int           `yaml:"size"`
	Every time.Duration `yaml:"every"`
	Tags  []string      `yaml:"tags"`
}

func (w *widget) Validate(p *Problems, path string) {
	p.OneOf(Join(path, "color"), w.Color, "red", "green")
}

func init() {
	Register("sinks", "widget", func() any { return &widget{Color: "red", Size: 1} })
}

func TestThreeMistakesAreAllReported(t *testing.T) {
	b, err := os.ReadFile("testdata/three-mistakes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(b, env(nil))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	got := ce.Error()
	for _, want := range []string{
		`server.listne: unknown key (did you mean "listen"?)`,
		`log.level: must be one of trace, debug, info, warn, error`,
		`broker.brokers[0]: environment variable TAJO_TEST_UNDEFINED_BROKER is not set (export TAJO_TEST_UNDEFINED_BROKER, or write ${TAJO_TEST_UNDEFINED_BROKER:-default})`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(ce.Problems) != 3 {
		t.Errorf("want exactly 3 problems, got %d:\n%s", len(ce.Problems), got)
	}
}

func TestDefaultPipelineYAMLIsValid(t *testing.T) {
	b, err := os.ReadFile("../../pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(b, env(nil))
	// The default file may name components registered by other packages;
	// here only the engine's own sections are checked.
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatal(err)
		}
		for _, p := range ce.Problems {
			if !strings.HasPrefix(p.Message, "unknown source") && !strings.HasPrefix(p.Message, "unknown sink") && !strings.HasPrefix(p.Message, "unknown connector") && p.Message != "unknown key" {
				t.Errorf("default pipeline.yaml: %s", p)
			}
		}
	}
	if cfg.DataDir != "./data" || cfg.Server.Listen != "127.0.0.1:8080" || cfg.Pipeline.BatchSize != 500 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestParseCases(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		env   map[string]string
		want  []string // substrings of problems; empty = valid
		check func(t *testing.T, c *Config)
	}{
		{name: "empty file gets defaults", yaml: ``, check: func(t *testing.T, c *Config) {
			if c.Broker.TopicPrefix != "tajo" || c.Pipeline.Retry.Multiplier != 2 {
				t.Errorf("defaults: %+v", c.Broker)
			}
		}},
		{name: "env with default", yaml: "data_dir: ${NOPE:-/var/tajo}", check: func(t *testing.T, c *Config) {
			if c.DataDir != "/var/tajo" {
				t.Errorf("data_dir = %q", c.DataDir)
			}
		}},
		{name: "env set wins over default", yaml: "data_dir: ${D:-/x}", env: map[string]string{"D": "/y"}, check: func(t *testing.T, c *Config) {
			if c.DataDir != "/y" {
				t.Errorf("data_dir = %q", c.DataDir)
			}
		}},
		{name: "env typed by field", yaml: "pipeline: {batch_size: \"${N}\"}", env: map[string]string{"N": "42"}, check: func(t *testing.T, c *Config) {
			if c.Pipeline.BatchSize != 42 {
				t.Errorf("batch_size = %d", c.Pipeline.BatchSize)
			}
		}},
		{name: "dollar escape", yaml: "data_dir: /a$$b", check: func(t *testing.T, c *Config) {
			if c.DataDir != "/a$b" {
				t.Errorf("data_dir = %q", c.DataDir)
			}
		}},
		{name: "broker none", yaml: "broker: none", check: func(t *testing.T, c *Config) {
			if !c.Broker.None {
				t.Error("broker: none not recognised")
			}
		}},
		{name: "broker scalar other than none", yaml: "broker: kafka", want: []string{`broker: must be a mapping or "none"`}},
		{name: "not yaml", yaml: "a: [", want: []string{"not valid YAML"}},
		{name: "top level list", yaml: "- a", want: []string{"expected a mapping at the top level"}},
		{name: "wrong type", yaml: "pipeline: {batch_size: lots}", want: []string{`pipeline.batch_size: expected a whole number, got "lots"`}},
		{name: "bad duration", yaml: "pipeline: {batch_wait: 5 minutes}", want: []string{`pipeline.batch_wait: expected a duration, got "5 minutes"`}},
		{name: "negative", yaml: "pipeline: {batch_size: -1}", want: []string{"pipeline.batch_size: must be positive"}},
		{name: "duplicate key", yaml: "log: {level: info, level: debug}", want: []string{"log.level: key appears twice"}},
		{name: "unknown top-level key", yaml: "sinkz: {}", want: []string{`sinkz: unknown key (did you mean "sinks"?)`}},
		{name: "unknown sink", yaml: "sinks: {widgit: {}}", want: []string{`sinks.widgit: unknown sink (did you mean "widget"?)`}},
		{name: "component strict keys", yaml: "sinks: {widget: {colour: red}}", want: []string{`sinks.widget.colour: unknown key (did you mean "color"?)`}},
		{name: "component validation", yaml: "sinks: {widget: {color: blu}}", want: []string{"sinks.widget.color: must be one of red, green"}},
		{name: "component disabled skips validation", yaml: "sinks: {widget: {enabled: false, color: blu}}", check: func(t *testing.T, c *Config) {
			if c.Component("sinks", "widget") != nil {
				t.Error("disabled component returned")
			}
		}},
		{name: "component defaults and decode", yaml: "sinks: {widget: {size: 3, every: 2s, tags: [a, \"ü\"]}}", check: func(t *testing.T, c *Config) {
			w := c.Component("sinks", "widget").Spec.(*widget)
			if w.Color != "red" || w.Size != 3 || w.Every != 2*time.Second || len(w.Tags) != 2 || w.Tags[1] != "ü" {
				t.Errorf("widget = %+v", w)
			}
		}},
		{name: "component shorthand false", yaml: "sinks: {widget: false}", check: func(t *testing.T, c *Config) {
			if c.Component("sinks", "widget") != nil {
				t.Error("widget: false should disable it")
			}
		}},
		{name: "batch timeout over 20ms", yaml: "broker: {batch_timeout: 1s}", want: []string{"broker.batch_timeout: must be between 1ms and 20ms"}},
		{name: "tls on embedded", yaml: "broker: {tls: {enabled: true}}", want: []string{"broker.tls: TLS and SASL apply to an external cluster only"}},
		{name: "sasl mechanism", yaml: "broker: {brokers: [\"k:9092\"], sasl: {mechanism: gssapi, username: u}}", want: []string{"broker.sasl.mechanism: must be one of plain, scram-sha-256, scram-sha-512"}},
		{name: "broker address", yaml: "broker: {brokers: [kafka]}", want: []string{"broker.brokers[0]: must be host:port"}},
		{name: "broker compression", yaml: "broker: {compression: lz5}", want: []string{`broker.compression: must be one of none, gzip, snappy, lz4, zstd (did you mean "lz4"?)`}},
		{name: "broker max message bytes", yaml: "broker: {max_message_bytes: 10}", want: []string{"broker.max_message_bytes: must be at least 1024"}},
		{name: "broker retention", yaml: "broker: {retention: 0s}", want: []string{"broker.retention: must be at least 1m"}},
		{name: "broker defaults", yaml: "", check: func(t *testing.T, c *Config) {
			if b := c.Broker; b.MaxMessageBytes != 1<<20 || b.Compression != "lz4" || b.Retention != 168*time.Hour {
				t.Errorf("broker defaults: max_message_bytes %d, compression %q, retention %s", b.MaxMessageBytes, b.Compression, b.Retention)
			}
		}},
		{name: "embedded on all interfaces", yaml: "broker: {embedded: {listen: \"0.0.0.0:9092\"}}", want: []string{"broker.embedded.listen: a non-loopback address needs broker.embedded.sasl with a scram mechanism"}},
		{name: "embedded on all interfaces with plain", yaml: "broker: {embedded: {listen: \"0.0.0.0:9092\", sasl: {mechanism: plain, username: u, password: p}}}", want: []string{"broker.embedded.listen: a non-loopback address needs"}},
		{name: "embedded on all interfaces with scram", yaml: "broker: {embedded: {listen: \"0.0.0.0:9092\", sasl: {mechanism: scram-sha-256, username: u, password: p}}}"},
		{name: "embedded sasl needs a password", yaml: "broker: {embedded: {sasl: {mechanism: scram-sha-256, username: u}}}", want: []string{"broker.embedded.sasl.password: required with broker.embedded.sasl.mechanism"}},
		{name: "embedded sasl on a cluster", yaml: "broker: {brokers: [\"k:9092\"], embedded: {sasl: {mechanism: plain, username: u, password: p}}}", want: []string{"broker.embedded.sasl: applies to the embedded broker only"}},
		{name: "dead letter exactly one", yaml: "dead_letter: {path: a, sink: b}", want: []string{"dead_letter: set exactly one of path and sink"}},
		{name: "unclosed env", yaml: "data_dir: ${ABC", want: []string{"data_dir: unclosed ${"}},
		{name: "invalid env name", yaml: "data_dir: ${1A}", want: []string{`data_dir: invalid environment variable name "1A"`}},
		{name: "unicode and hostile values", yaml: "data_dir: \"./données/\\u0000x\"\nlog: {level: \"info\\u202e\"}", want: []string{"log.level: must be one of"}},
		{name: "version", yaml: "version: 2", want: []string{"version: unsupported version 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), env(tc.env))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("want problems %q, got none", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in:\n%v", w, err)
				}
			}
		})
	}
}

func TestInterpolate(t *testing.T) {
	lookup := env(map[string]string{"A": "1", "EMPTY": ""})
	for in, want := range map[string]string{
		"plain": "plain", "${A}": "1", "x${A}y": "x1y", "${EMPTY}": "", "${EMPTY:-d}": "d",
		"${B:-}": "", "${B:-a:-b}": "a:-b", "$A": "$A", "$$": "$", "a$": "a$", "${A}${A}": "11",
	} {
		got, err := interpolate(in, lookup)
		if err != nil || got != want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "broker: none", "sinks: {widget: {size: 1}}", "data_dir: ${X:-y}", "a: [", "pipeline: {retry: {max: 1s}}"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../../pipeline.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, env(nil))
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

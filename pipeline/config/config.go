package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is a whole pipeline.yaml.
type Config struct {
	Version    int        `yaml:"version"`
	DataDir    string     `yaml:"data_dir"`
	Server     Server     `yaml:"server"`
	Control    Control    `yaml:"control"`
	Log        Log        `yaml:"log"`
	Broker     Broker     `yaml:"broker"`
	Pipeline   Pipeline   `yaml:"pipeline"`
	DeadLetter DeadLetter `yaml:"dead_letter"`
	History    History    `yaml:"history"`
	Plugins    Plugins    `yaml:"plugins"`

	// Component sections: one entry per component, keyed by its type.
	Sources    map[string]yaml.Node `yaml:"sources"`
	Connectors map[string]yaml.Node `yaml:"connectors"`
	Sinks      map[string]yaml.Node `yaml:"sinks"`

	// Components holds the decoded component configs by section and name,
	// in the type each component registered.
	Components map[string]map[string]*Component `yaml:"-"`
	// Sections holds the decoded extension sections by name.
	Sections map[string]any `yaml:"-"`
	// File is the path the configuration was read from, if any.
	File string `yaml:"-"`
	// Warnings are what validation accepted with a remark (Problems.Warn):
	// `tajo validate` prints them, `tajo run` logs them at start.
	Warnings []Problem `yaml:"-"`
	// envRefs names, per path, the environment variables its value was
	// read from (see EnvVars).
	envRefs map[string][]string
}

// Control is the control listener: history queries, /status and admin
// actions, behind a bearer token, never on the webhook listener.
type Control struct {
	// Listen is its address; "" disables it (the CLI then reads the
	// history itself, which a running tajo's embedded store refuses).
	Listen string `yaml:"listen"`
	// Token is the bearer token; empty makes tajo generate one into
	// data_dir/control.token (mode 0600), which the CLI reads.
	Token Secret `yaml:"token"`
}

// MinControlTokenLength is the shortest control.token accepted.
const MinControlTokenLength = 16

// Server is the webhook listener: the Shopify webhook endpoints and the
// storefront collector, which face the internet, and /healthz.
type Server struct {
	Listen       string        `yaml:"listen"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// Log configures logrus.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Broker is where events travel between the ingest and the processing half.
type Broker struct {
	// None runs source → transforms → sinks in one process without Kafka
	// (`broker: none`), acking straight to the source.
	None bool `yaml:"-"`
	// Brokers lists external bootstrap servers; empty starts the embedded
	// broker.
	Brokers           []string      `yaml:"brokers"`
	TopicPrefix       string        `yaml:"topic_prefix"`
	Partitions        int           `yaml:"partitions"`
	ReplicationFactor int           `yaml:"replication_factor"`
	ConsumerGroup     string        `yaml:"consumer_group"`
	ClientID          string        `yaml:"client_id"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	BatchTimeout      time.Duration `yaml:"batch_timeout"`
	// MaxMessageBytes is the broker's maximum message size, used only when
	// the broker does not tell (DescribeConfigs): produce batches stay
	// below it.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// Compression of produced batches: none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
	// Retention is the retention.ms of the topics tajo creates.
	Retention time.Duration `yaml:"retention"`
	TLS       TLS           `yaml:"tls"`
	SASL      SASL          `yaml:"sasl"`
	Embedded  Embedded      `yaml:"embedded"`
}

// FromScalar accepts `broker: none`.
func (b *Broker) FromScalar(v string) error {
	if v != "none" {
		return fmt.Errorf(`must be a mapping or "none", got %q`, v)
	}
	b.None = true
	return nil
}

// TLS settings for an external cluster.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL settings for an external cluster.
type SASL struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  Secret `yaml:"password"`
}

// Embedded configures the in-process broker.
type Embedded struct {
	Listen string `yaml:"listen"`
	// Fsync makes every produced batch durable on disk before it is
	// acknowledged; without it a power loss (not a process crash) can lose
	// the last writes.
	Fsync bool `yaml:"fsync"`
	// SASL makes the embedded broker require authentication; it is
	// required when Listen is not a loopback address.
	SASL SASL `yaml:"sasl"`
}

// Pipeline tunes the runner.
type Pipeline struct {
	BatchSize        int           `yaml:"batch_size"`
	BatchWait        time.Duration `yaml:"batch_wait"`
	MaxInFlight      int           `yaml:"max_in_flight"`
	MaxInFlightBytes int           `yaml:"max_in_flight_bytes"`
	CommitInterval   time.Duration `yaml:"commit_interval"`
	ProgressInterval time.Duration `yaml:"progress_interval"`
	ShutdownTimeout  time.Duration `yaml:"shutdown_timeout"`
	Retry            Retry         `yaml:"retry"`
}

// Retry is the backoff for retryable failures.
type Retry struct {
	Initial     time.Duration `yaml:"initial"`
	Max         time.Duration `yaml:"max"`
	Multiplier  float64       `yaml:"multiplier"`
	Jitter      float64       `yaml:"jitter"`
	MaxAttempts int           `yaml:"max_attempts"`
}

// DeadLetter says where rejected records go: a JSON-lines file, or a sink
// that stores dead letters (e.g. clickhouse's error_history).
type DeadLetter struct {
	Path string `yaml:"path"`
	Sink string `yaml:"sink"`
}

// History names the sink that keeps the sync history, the webhook log and
// the connection checks. It receives each record once, after the other
// sinks, with what they did with it. Unset, it is the one enabled sink
// that can keep history (clickhouse), if any.
type History struct {
	Sink string `yaml:"sink"`
}

// Plugins configures the out-of-process plugin host.
type Plugins struct {
	Dir string `yaml:"dir"`
	// SHA256 pins plugin executables: name → hex SHA-256 of
	// <dir>/<name>. A pinned plugin runs only from dir and only when its
	// checksum matches (go-plugin's SecureConfig checks it at exec).
	SHA256 map[string]string `yaml:"sha256"`
}

// Pins returns plugins.sha256 decoded (validation checked the hex).
func (p Plugins) Pins() map[string][]byte {
	pins := make(map[string][]byte, len(p.SHA256))
	for name, h := range p.SHA256 {
		if b, err := hex.DecodeString(h); err == nil {
			pins[name] = b
		}
	}
	return pins
}

// DefaultDeadLetterPath is where dead letters go when dead_letter is unset.
const DefaultDeadLetterPath = "dead-letter.jsonl"

// Default returns the configuration used for every key pipeline.yaml leaves
// out.
func Default() *Config {
	return &Config{
		Version: 1,
		DataDir: "data",
		Server:  Server{Listen: "127.0.0.1:8080", ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second},
		Control: Control{Listen: "127.0.0.1:8081"},
		Log:     Log{Level: "info", Format: "text"},
		Broker: Broker{
			TopicPrefix:       "tajo",
			Partitions:        4,
			ReplicationFactor: 1,
			ConsumerGroup:     "tajo",
			ClientID:          "tajo",
			WriteTimeout:      10 * time.Second,
			BatchTimeout:      time.Millisecond,
			MaxMessageBytes:   1 << 20,
			Compression:       "lz4",
			Retention:         7 * 24 * time.Hour,
			Embedded:          Embedded{Listen: "127.0.0.1:0", Fsync: true},
		},
		Pipeline: Pipeline{
			BatchSize:        500,
			BatchWait:        20 * time.Millisecond,
			MaxInFlight:      25000,
			MaxInFlightBytes: 48 << 20,
			CommitInterval:   time.Second,
			ProgressInterval: 10 * time.Second,
			ShutdownTimeout:  30 * time.Second,
			Retry:            Retry{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2},
		},
		DeadLetter: DeadLetter{},
		Plugins:    Plugins{Dir: "plugins"},
	}
}

// Load reads, interpolates, decodes and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(b, osLookup)
	if cfg != nil {
		cfg.File = path
	}
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	return cfg, err
}

// Parse decodes and validates a configuration. On invalid input it returns
// the partly decoded config and an *Error listing every problem.
func Parse(b []byte, lookup LookupEnv) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, &Error{Problems: []Problem{{Message: "not valid YAML: " + cleanYAMLError(err)}}}
	}
	p := &Problems{}
	d := &decoder{problems: p, lookup: lookup}
	cfg := Default()
	cfg.Components = map[string]map[string]*Component{}
	cfg.Sections = map[string]any{}
	if len(root.Content) == 0 {
		cfg.validate(p)
		return cfg, p.Err()
	}
	d.interpolateTree(&root, "")
	cfg.envRefs = d.envRefs
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.Add("", "expected a mapping at the top level, got "+describe(doc), "")
		return cfg, p.Err()
	}
	core := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key := doc.Content[i].Value
		if s, ok := lookupSection(key); ok {
			v := s()
			d.decode(doc.Content[i+1], reflectPtr(v), key)
			cfg.Sections[key] = v
			continue
		}
		core.Content = append(core.Content, doc.Content[i], doc.Content[i+1])
	}
	d.decodeStructNamed(core, cfg, "", sectionNames())
	for _, sec := range []struct {
		name  string
		nodes map[string]yaml.Node
	}{{"sources", cfg.Sources}, {"connectors", cfg.Connectors}, {"sinks", cfg.Sinks}} {
		cfg.Components[sec.name] = d.decodeComponents(sec.name, sec.nodes)
	}
	for name, s := range registeredSections() {
		if _, ok := cfg.Sections[name]; !ok {
			cfg.Sections[name] = s()
		}
	}
	if len(p.list) == 0 {
		cfg.derive(p)
		for _, fix := range registeredFixups() {
			fix(cfg, p)
		}
	}
	cfg.validate(p)
	p.firstPerPath()
	cfg.Warnings = p.Warnings()
	return cfg, p.Err()
}

func (c *Config) validate(p *Problems) {
	if c.Version != 1 {
		p.Add("version", fmt.Sprintf("unsupported version %d", c.Version), "this tajo reads version 1")
	}
	if c.DataDir == "" {
		p.Add("data_dir", "must not be empty", "e.g. ./data")
	}
	if c.Server.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
			p.Add("server.listen", "must be host:port", `e.g. "127.0.0.1:8080", or "" to disable the server`)
		}
	}
	c.validateControl(p)
	p.OneOf("log.level", c.Log.Level, "trace", "debug", "info", "warn", "error")
	p.OneOf("log.format", c.Log.Format, "text", "json")
	c.validateBroker(p)
	pl := c.Pipeline
	positive(p, "pipeline.batch_size", pl.BatchSize)
	positive(p, "pipeline.max_in_flight", pl.MaxInFlight)
	if pl.MaxInFlight < pl.BatchSize {
		p.Add("pipeline.max_in_flight", "must be at least pipeline.batch_size", fmt.Sprintf("raise it to %d or more", pl.BatchSize))
	}
	if pl.MaxInFlightBytes < 1<<20 {
		p.Add("pipeline.max_in_flight_bytes", "must be at least 1048576 (1 MiB)", "the default is 50331648 (48 MiB)")
	}
	positiveDur(p, "pipeline.batch_wait", pl.BatchWait)
	positiveDur(p, "pipeline.commit_interval", pl.CommitInterval)
	positiveDur(p, "pipeline.shutdown_timeout", pl.ShutdownTimeout)
	positiveDur(p, "pipeline.retry.initial", pl.Retry.Initial)
	if pl.Retry.Max < pl.Retry.Initial {
		p.Add("pipeline.retry.max", "must be at least pipeline.retry.initial", "")
	}
	if pl.Retry.Multiplier < 1 {
		p.Add("pipeline.retry.multiplier", "must be 1 or more", "2 doubles the wait after each failure")
	}
	if pl.Retry.Jitter < 0 || pl.Retry.Jitter > 1 {
		p.Add("pipeline.retry.jitter", "must be between 0 and 1", "0.2 spreads waits by ±20%")
	}
	if pl.Retry.MaxAttempts < 0 {
		p.Add("pipeline.retry.max_attempts", "must not be negative", "0 retries until the failure clears")
	}
	switch {
	case c.DeadLetter.Path != "" && c.DeadLetter.Sink != "":
		p.Add("dead_letter", "set exactly one of path and sink", `e.g. path: dead-letter.jsonl, or sink: clickhouse`)
	case c.DeadLetter.Path == "" && c.DeadLetter.Sink == "":
		c.DeadLetter.Path = DefaultDeadLetterPath
	case c.DeadLetter.Sink != "":
		c.checkNamedSink(p, "dead_letter.sink", c.DeadLetter.Sink, StoresDeadLetters, "or use dead_letter.path")
	}
	c.validateHistory(p)
	c.validatePlugins(p)
	for _, sec := range []string{"sources", "connectors", "sinks"} {
		for _, name := range slices.Sorted(maps.Keys(c.Components[sec])) {
			comp := c.Components[sec][name]
			if v, ok := comp.Spec.(Validatable); ok && comp.Enabled {
				v.Validate(p, Join(sec, name))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Sections)) {
		if v, ok := c.Sections[name].(Validatable); ok {
			v.Validate(p, name)
		}
	}
}

func (c *Config) validateControl(p *Problems) {
	ctl := c.Control
	if ctl.Listen != "" {
		if _, port, err := net.SplitHostPort(ctl.Listen); err != nil {
			p.Add("control.listen", "must be host:port", `e.g. "127.0.0.1:8081", or "" to disable the control API`)
		} else if ctl.Listen == c.Server.Listen && port != "0" {
			p.Add("control.listen", "must differ from server.listen", "the webhook listener faces Shopify; the control API must not: e.g. 127.0.0.1:8081")
		}
	}
	if n := len(ctl.Token.Reveal()); n > 0 && n < MinControlTokenLength {
		p.Add("control.token", fmt.Sprintf("must be at least %d characters, got %d", MinControlTokenLength, n),
			"e.g. `openssl rand -hex 32`, or leave it empty to have tajo generate one into data_dir/control.token")
	}
}

func (c *Config) validateBroker(p *Problems) {
	b := c.Broker
	if b.None {
		return
	}
	if b.TopicPrefix == "" {
		p.Add("broker.topic_prefix", "must not be empty", `e.g. "tajo"`)
	}
	positive(p, "broker.partitions", b.Partitions)
	positive(p, "broker.replication_factor", b.ReplicationFactor)
	if b.ConsumerGroup == "" {
		p.Add("broker.consumer_group", "must not be empty", `e.g. "tajo"`)
	}
	positiveDur(p, "broker.write_timeout", b.WriteTimeout)
	if b.BatchTimeout <= 0 || b.BatchTimeout > 20*time.Millisecond {
		p.Add("broker.batch_timeout", "must be between 1ms and 20ms", "a longer timeout delays every webhook answer")
	}
	for i, addr := range b.Brokers {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			p.Add(Join("broker.brokers", i), "must be host:port", `e.g. "kafka-1:9092"`)
		}
	}
	if b.MaxMessageBytes < 1<<10 {
		p.Add("broker.max_message_bytes", "must be at least 1024", "Kafka's default is 1048576 (1 MiB)")
	}
	p.OneOf("broker.compression", b.Compression, "none", "gzip", "snappy", "lz4", "zstd")
	if b.Retention < time.Minute {
		p.Add("broker.retention", "must be at least 1m", "e.g. 168h (7 days)")
	}
	if len(b.Brokers) == 0 {
		host, _, err := net.SplitHostPort(b.Embedded.Listen)
		if err != nil {
			p.Add("broker.embedded.listen", "must be host:port", `e.g. "127.0.0.1:0" for any free port`)
		} else if !IsLoopback(host) && !strings.HasPrefix(strings.ToLower(b.Embedded.SASL.Mechanism), "scram-") {
			p.Add("broker.embedded.listen", "a non-loopback address needs broker.embedded.sasl with a scram mechanism",
				`listen on 127.0.0.1, or set broker.embedded.sasl {mechanism: scram-sha-256, username, password}`)
		}
		if b.TLS.Enabled || b.SASL.Mechanism != "" {
			p.Add("broker.tls", "TLS and SASL apply to an external cluster only", "set broker.brokers, or remove broker.tls and broker.sasl; the embedded broker takes broker.embedded.sasl")
		}
		validateSASL(p, "broker.embedded.sasl", b.Embedded.SASL, true)
	} else if b.Embedded.SASL.Mechanism != "" {
		p.Add("broker.embedded.sasl", "applies to the embedded broker only", "use broker.sasl for an external cluster")
	}
	validateSASL(p, "broker.sasl", b.SASL, false)
	if (b.TLS.CertFile == "") != (b.TLS.KeyFile == "") {
		p.Add("broker.tls", "cert_file and key_file go together", "")
	}
}

func validateSASL(p *Problems, path string, s SASL, needPassword bool) {
	if s.Mechanism == "" {
		return
	}
	p.OneOf(path+".mechanism", strings.ToLower(s.Mechanism), "plain", "scram-sha-256", "scram-sha-512")
	if s.Username == "" {
		p.Add(path+".username", "required with "+path+".mechanism", "")
	}
	if needPassword && s.Password == "" {
		p.Add(path+".password", "required with "+path+".mechanism", "e.g. ${TAJO_BROKER_PASSWORD}")
	}
}

// IsLoopback reports whether host (an address without port) can only be
// reached from this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validatePlugins(p *Problems) {
	for _, name := range slices.Sorted(maps.Keys(c.Plugins.SHA256)) {
		if b, err := hex.DecodeString(c.Plugins.SHA256[name]); err != nil || len(b) != sha256.Size {
			p.Add(Join("plugins.sha256", name), "must be 64 hex digits", "sha256sum <plugins.dir>/"+name+" prints it")
		}
		if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			p.Add(Join("plugins.sha256", name), "is not a plugin name", "a key is the executable's file name in plugins.dir")
		}
	}
}

func positive(p *Problems, path string, v int) {
	if v <= 0 {
		p.Add(path, fmt.Sprintf("must be positive, got %d", v), "")
	}
}

func positiveDur(p *Problems, path string, v time.Duration) {
	if v <= 0 {
		p.Add(path, fmt.Sprintf("must be a positive duration, got %s", v), `e.g. "1s"`)
	}
}

// Path resolves a path relative to the data directory; absolute paths and
// "-" (standard input/output) are returned unchanged.
func (c *Config) Path(p string) string {
	if p == "" || p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.DataDir, p)
}

// EnvVars names the environment variables the value at path (e.g.
// "sinks.brevo.api_key") was read from through ${NAME} references, so a
// message about an empty credential can say what to export.
func (c *Config) EnvVars(path string) []string { return c.envRefs[path] }

// Component returns the enabled component of a section, or nil.
func (c *Config) Component(section, name string) *Component {
	comp := c.Components[section][name]
	if comp == nil || !comp.Enabled {
		return nil
	}
	return comp
}

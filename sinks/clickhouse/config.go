package clickhouse

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// Config is `sinks.clickhouse` in pipeline.yaml.
type Config struct {
	// DSN picks the backend: chdb://<dir> runs ClickHouse in-process (a
	// relative dir is under data_dir), clickhouse://user:pass@host:9000/db
	// talks to a server over the native protocol.
	DSN string `yaml:"dsn"`
	// BatchRows caps the rows of one INSERT; RecordOutcomes and
	// RecordWebhooks calls are gathered until BatchRows or FlushInterval.
	BatchRows     int           `yaml:"batch_rows"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Timeout bounds one connect, insert or query.
	Timeout time.Duration `yaml:"timeout"`
	// RetentionDays drops the history rows tajo wrote more than this many
	// days ago, whatever their event's date: the tables are partitioned by
	// month of ingested_at, and a month goes once it is wholly older.
	// 0 keeps everything.
	RetentionDays int `yaml:"retention_days"`
	TLS           TLS `yaml:"tls"`
}

// TLS secures the connection to a ClickHouse server (the same keys as
// broker.tls).
type TLS = config.TLS

// DefaultDSN keeps the history in <data_dir>/clickhouse with the embedded engine.
const DefaultDSN = "chdb://clickhouse"

// DefaultConfig returns the configuration used for keys pipeline.yaml omits.
func DefaultConfig() *Config {
	return &Config{
		DSN:           DefaultDSN,
		BatchRows:     10000,
		FlushInterval: time.Second,
		Timeout:       30 * time.Second,
		RetentionDays: 400,
	}
}

// plainConfig is Config without the methods below, so they do not recurse.
type plainConfig Config

// redacted is c with the DSN's password masked (redact). String, GoString,
// MarshalJSON and MarshalYAML show it, so the config prints and encodes
// anywhere without the password; the backends read c.DSN itself.
func (c Config) redacted() plainConfig {
	c.DSN = redact(c.DSN)
	return plainConfig(c)
}

// String implements fmt.Stringer (%v, %+v, %s).
func (c Config) String() string { return fmt.Sprintf("%+v", c.redacted()) }

// GoString implements fmt.GoStringer (%#v).
func (c Config) GoString() string { return fmt.Sprintf("%#v", c.redacted()) }

// MarshalJSON implements json.Marshaler.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// MarshalYAML implements yaml.Marshaler.
func (c Config) MarshalYAML() (any, error) { return c.redacted(), nil }

// Validate reports every problem under path (e.g. sinks.clickhouse).
func (c *Config) Validate(p *config.Problems, path string) {
	kind, _, err := parseDSN(c.DSN)
	if err != nil {
		p.Add(config.Join(path, "dsn"), err.Error(), `e.g. "chdb://clickhouse" or "clickhouse://default:@127.0.0.1:9000/tajo"`)
	}
	if c.BatchRows <= 0 || c.BatchRows > 1_000_000 {
		p.Add(config.Join(path, "batch_rows"), fmt.Sprintf("must be between 1 and 1000000, got %d", c.BatchRows), "10000 suits most loads")
	}
	if c.FlushInterval <= 0 {
		p.Add(config.Join(path, "flush_interval"), fmt.Sprintf("must be a positive duration, got %s", c.FlushInterval), `e.g. "1s"`)
	}
	if c.Timeout <= 0 {
		p.Add(config.Join(path, "timeout"), fmt.Sprintf("must be a positive duration, got %s", c.Timeout), `e.g. "30s"`)
	}
	if c.RetentionDays < 0 {
		p.Add(config.Join(path, "retention_days"), "must not be negative", "0 keeps history forever")
	}
	t := c.TLS
	if kind == "chdb" && (t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
		p.Add(config.Join(path, "tls"), "applies to a ClickHouse server only", "set dsn to clickhouse://…, or remove tls")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.Add(config.Join(path, "tls"), "cert_file and key_file go together", "")
	}
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		p.Add(config.Join(path, "tls.enabled"), "tls options are set but tls is not enabled", "add enabled: true")
	}
}

// parseDSN returns the backend ("chdb" or "server") and, for chdb, the
// directory as written.
func parseDSN(dsn string) (kind, dir string, err error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return "", "", fmt.Errorf("not a DSN (no scheme://; the value is not shown, it may hold a password)")
	}
	switch scheme {
	case "chdb":
		if rest == "" {
			return "", "", fmt.Errorf("chdb:// needs a directory")
		}
		if strings.ContainsAny(rest, "?#") {
			return "", "", fmt.Errorf("chdb:// takes a directory only, no options")
		}
		return "chdb", rest, nil
	case "clickhouse", "tcp":
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("%q: want clickhouse://user:pass@host:9000/db", redact(dsn))
		}
		return "server", "", nil
	case "http", "https":
		return "", "", fmt.Errorf("the HTTP interface is not supported; use the native protocol")
	}
	return "", "", fmt.Errorf("unknown scheme %q", scheme)
}

// chdbDir resolves a chdb:// directory against the data directory.
func chdbDir(dir, dataDir string) string {
	if filepath.IsAbs(dir) || strings.HasPrefix(dir, "/") {
		return filepath.Clean(dir)
	}
	return filepath.Join(dataDir, dir)
}

// redact hides a DSN's password for messages, in the userinfo and in a
// password= option. A DSN that does not parse (a password with a bare %)
// keeps only what surely is not the password: the scheme, the user and
// what follows the last @.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, rest, _ := strings.Cut(dsn, "://")
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			user, _, _ := strings.Cut(rest[:at], ":")
			rest = user + ":" + config.Masked + rest[at:]
		}
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			rest = rest[:q] + "?" + config.Masked
		}
		return scheme + "://" + rest
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), config.Masked)
		}
	}
	if q, err := url.ParseQuery(u.RawQuery); err != nil {
		u.RawQuery = config.Masked
	} else if q.Has("password") {
		q.Set("password", config.Masked)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

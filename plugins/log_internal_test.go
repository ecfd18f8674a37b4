package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
)

// replay does what go-plugin does with a plugin's stderr line: decode the
// JSON and log message and fields into the host's logger.
func replay(t *testing.T, line []byte, host hclog.Logger) {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(line, &raw); err != nil {
		t.Fatalf("plugin log line is not JSON: %v: %s", err, line)
	}
	msg, _ := raw["@message"].(string)
	level := hclog.LevelFromString(raw["@level"].(string))
	if level == hclog.NoLevel {
		// go-plugin passes a line without a level whole, at debug.
		host.Debug(string(bytes.TrimSpace(line)))
		return
	}
	if level < host.GetLevel() {
		return // go-plugin drops it before the host sees it
	}
	delete(raw, "@message")
	delete(raw, "@level")
	delete(raw, "@timestamp")
	var args []any
	for k, v := range raw {
		args = append(args, k, v)
	}
	host.Log(level, msg, args...)
}

type checkSink struct {
	mu     sync.Mutex
	checks []pipeline.ConnectionCheck
}

func (c *checkSink) ReportCheck(ch pipeline.ConnectionCheck) {
	c.mu.Lock()
	c.checks = append(c.checks, ch)
	c.mu.Unlock()
}

func hostLogger(level logrus.Level, checks pipeline.CheckReporter) (hclog.Logger, *bytes.Buffer) {
	var out bytes.Buffer
	l := logrus.New()
	l.SetOutput(&out)
	l.SetLevel(level)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
	return newHCLogger(logrus.NewEntry(l), checks), &out
}

// A duration a plugin logs prints as a duration on the host
// (took=2.006s), through the logrus bridge and through hclog.
func TestPluginDurationsPrintAsDurations(t *testing.T) {
	host, out := hostLogger(logrus.InfoLevel, nil)

	var line bytes.Buffer
	plog := Logrus()
	plog.SetOutput(&line)
	plog.WithFields(logrus.Fields{"kind": "customer", "took": 2006 * time.Millisecond}).Info("shopify backfill done")
	replay(t, line.Bytes(), host)

	line.Reset()
	hl := durationLogger{hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &line, JSONFormat: true})}
	hl.With("poll", 1500*time.Millisecond).Info("bulk operation running", "waited", 90*time.Second)
	replay(t, line.Bytes(), host)

	got := out.String()
	for _, want := range []string{"took=2.006s", "poll=1.5s", "waited=1m30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("host log lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "e+09") {
		t.Errorf("a duration printed as a float:\n%s", got)
	}
}

// A check a plugin reports reaches the host's CheckReporter with its shop,
// whatever the host's log level.
func TestPluginCheckReachesHost(t *testing.T) {
	checks := &checkSink{}
	host, _ := hostLogger(logrus.ErrorLevel, checks)
	var line bytes.Buffer
	plog := Logrus()
	plog.SetOutput(&line)
	plog.SetLevel(logrus.InfoLevel) // the shopify plugin's default log_level
	entry := plog.WithField("shop", "a.myshopify.com")
	for _, err := range []error{nil, errors.New("shopify admin: 401 Unauthorized")} {
		line.Reset()
		ReportCheck(entry, "shopify", err, "Admin API backfill answered")
		replay(t, line.Bytes(), host)
	}
	if len(checks.checks) != 2 {
		t.Fatalf("checks: %+v", checks.checks)
	}
	ok, bad := checks.checks[0], checks.checks[1]
	if ok.Service != "shopify" || ok.Shop != "a.myshopify.com" || !ok.OK || ok.Detail != "Admin API backfill answered" || ok.Time.IsZero() {
		t.Errorf("ok check: %+v", ok)
	}
	if bad.OK || bad.Detail != "shopify admin: 401 Unauthorized" {
		t.Errorf("failed check: %+v", bad)
	}
}

type leveler logrus.Level

func (l leveler) ConnectorLogLevel() logrus.Level { return logrus.Level(l) }

// With log.level info and a connector asking for debug (shopify's debug:
// true), the host prints that connector's debug lines, its plugin's (which
// go-plugin would drop below the bridge's level) and its own, and still
// drops another component's; trace stays dropped.
func TestConnectorLevelRaisesOnlyItsLines(t *testing.T) {
	var out bytes.Buffer
	host := logrus.New()
	host.SetOutput(&out)
	host.SetLevel(logrus.InfoLevel)
	host.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
	base := logrus.NewEntry(host)

	conn := connectorLog(base.WithField("source", "shopify"), leveler(logrus.DebugLevel))
	bridge := newHCLogger(conn.WithField("plugin", "shopify"), nil)
	var line bytes.Buffer
	plog := Logrus()
	plog.SetOutput(&line)
	plog.WithField("attempt", 2).Debug("shopify admin: retrying")
	replay(t, line.Bytes(), bridge)
	line.Reset()
	plog.Trace("shopify admin: a trace line")
	replay(t, line.Bytes(), bridge)
	conn.Debug("plugin source: host side of the connector")

	base.WithField("sink", "brevo").Debug("another component's debug line")
	base.Info("an info line")
	connectorLog(base, struct{}{}).Debug("a connector without a level of its own")

	got := out.String()
	for _, want := range []string{
		`level=debug msg="shopify admin: retrying" attempt=2 plugin=shopify source=shopify`,
		`level=debug msg="plugin source: host side of the connector" source=shopify`,
		`level=info msg="an info line"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("host log lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"another component", "a trace line", "without a level"} {
		if strings.Contains(got, not) {
			t.Errorf("host log has %q:\n%s", not, got)
		}
	}
}

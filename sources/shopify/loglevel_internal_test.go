package shopify

import (
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/plugins"
)

// debug and log_level are the level the host prints this connector's
// lines at (plugins.LogLeveler): verbose is trace, debug: true is at
// least debug.
func TestConnectorLogLevel(t *testing.T) {
	var _ plugins.LogLeveler = (*Config)(nil)
	for _, c := range []struct {
		debug bool
		level string
		want  logrus.Level
	}{
		{false, "info", logrus.InfoLevel},
		{true, "info", logrus.DebugLevel},
		{false, "verbose", logrus.TraceLevel},
		{false, "trace", logrus.TraceLevel},
		{true, "trace", logrus.TraceLevel},
		{false, "debug", logrus.DebugLevel},
		{true, "warn", logrus.DebugLevel},
		{false, "error", logrus.ErrorLevel},
	} {
		cfg := &Config{Debug: c.debug, LogLevel: c.level}
		if got := cfg.ConnectorLogLevel(); got != c.want {
			t.Errorf("debug %v, log_level %s: %s, want %s", c.debug, c.level, got, c.want)
		}
	}
}

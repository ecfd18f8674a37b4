package plugins

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"sync"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"
)

// logrusLogger is an hclog.Logger writing to logrus. go-plugin parses the
// JSON lines a plugin writes on stderr and replays them into the host's
// hclog.Logger; this one puts them into the host's logrus output with the
// plugin's name as a field, at the level the plugin chose.
type logrusLogger struct {
	entry *logrus.Entry
	name  string
	args  []any
}

func newHCLogger(entry *logrus.Entry) hclog.Logger {
	return &logrusLogger{entry: entry}
}

func (l *logrusLogger) Log(level hclog.Level, msg string, args ...any) {
	lv := toLogrus(level)
	if !l.entry.Logger.IsLevelEnabled(lv) {
		return
	}
	fields := logrus.Fields{}
	addPairs(fields, l.args)
	addPairs(fields, args)
	// A plugin's own timestamp would shadow the host's; its ordering
	// relative to host lines is what matters, and the host's is right.
	delete(fields, "timestamp")
	l.entry.WithFields(fields).Log(lv, msg)
}

func addPairs(f logrus.Fields, args []any) {
	for i := 0; i+1 < len(args); i += 2 {
		k, ok := args[i].(string)
		if !ok {
			k = fmt.Sprint(args[i])
		}
		f[k] = args[i+1]
	}
	if len(args)%2 == 1 {
		f["extra"] = args[len(args)-1]
	}
}

func toLogrus(l hclog.Level) logrus.Level {
	switch l {
	case hclog.Trace:
		return logrus.TraceLevel
	case hclog.Debug:
		return logrus.DebugLevel
	case hclog.Warn:
		return logrus.WarnLevel
	case hclog.Error:
		return logrus.ErrorLevel
	}
	return logrus.InfoLevel
}

func (l *logrusLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *logrusLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *logrusLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *logrusLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *logrusLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }
func (l *logrusLogger) IsTrace() bool                 { return l.entry.Logger.IsLevelEnabled(logrus.TraceLevel) }
func (l *logrusLogger) IsDebug() bool                 { return l.entry.Logger.IsLevelEnabled(logrus.DebugLevel) }
func (l *logrusLogger) IsInfo() bool                  { return l.entry.Logger.IsLevelEnabled(logrus.InfoLevel) }
func (l *logrusLogger) IsWarn() bool                  { return l.entry.Logger.IsLevelEnabled(logrus.WarnLevel) }
func (l *logrusLogger) IsError() bool                 { return l.entry.Logger.IsLevelEnabled(logrus.ErrorLevel) }
func (l *logrusLogger) ImpliedArgs() []any            { return l.args }
func (l *logrusLogger) Name() string                  { return l.name }

func (l *logrusLogger) With(args ...any) hclog.Logger {
	return &logrusLogger{entry: l.entry, name: l.name, args: append(append([]any(nil), l.args...), args...)}
}

// Named is ignored: go-plugin names its logger after the binary, and the
// plugin field already says which plugin spoke.
func (l *logrusLogger) Named(string) hclog.Logger      { return l }
func (l *logrusLogger) ResetNamed(string) hclog.Logger { return l }

// SetLevel is ignored: the host's logrus level decides.
func (l *logrusLogger) SetLevel(hclog.Level) {}

func (l *logrusLogger) GetLevel() hclog.Level {
	switch l.entry.Logger.GetLevel() {
	case logrus.TraceLevel:
		return hclog.Trace
	case logrus.DebugLevel:
		return hclog.Debug
	case logrus.InfoLevel:
		return hclog.Info
	case logrus.WarnLevel:
		return hclog.Warn
	}
	return hclog.Error
}

func (l *logrusLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.entry.WriterLevel(logrus.InfoLevel), "", 0)
}

func (l *logrusLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return l.entry.WriterLevel(logrus.InfoLevel)
}

var (
	pluginLogOnce sync.Once
	pluginLog     hclog.Logger
)

// Logger is the logger for code running inside a plugin process: JSON lines
// on stderr, which the host parses and re-logs with the plugin's name.
// Stdout belongs to go-plugin's handshake and must stay untouched.
func Logger() hclog.Logger {
	pluginLogOnce.Do(func() {
		pluginLog = hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: os.Stderr, JSONFormat: true})
	})
	return pluginLog
}

// Logrus returns a logrus logger for code running inside a plugin process
// (packages written against pipeline.Env.Log): it writes the JSON shape
// hclog does, so the host re-logs its entries with their level and fields.
func Logrus() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.TraceLevel)
	l.SetFormatter(hclogJSON{})
	return l
}

// hclogJSON formats logrus entries as hclog JSON lines.
type hclogJSON struct{}

func (hclogJSON) Format(e *logrus.Entry) ([]byte, error) {
	m := make(map[string]any, len(e.Data)+3)
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		m[k] = v
	}
	m["@timestamp"] = e.Time.Format("2006-01-02T15:04:05.000000Z07:00")
	m["@message"] = e.Message
	switch e.Level {
	case logrus.TraceLevel:
		m["@level"] = "trace"
	case logrus.DebugLevel:
		m["@level"] = "debug"
	case logrus.InfoLevel:
		m["@level"] = "info"
	case logrus.WarnLevel:
		m["@level"] = "warn"
	default:
		m["@level"] = "error"
	}
	b, err := json.Marshal(m)
	return append(b, '\n'), err
}

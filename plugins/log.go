package plugins

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
)

// logrusLogger is an hclog.Logger writing to logrus. go-plugin parses the
// JSON lines a plugin writes on stderr and replays them into the host's
// hclog.Logger; this one puts them into the host's logrus output with the
// plugin's name as a field, at the level the plugin chose.
//
// It is also where a plugin's connection checks (ReportCheck) reach the
// host: they ride the log stream, the one channel from plugin to host
// besides records, and are taken whatever the host's log level.
type logrusLogger struct {
	entry  *logrus.Entry
	name   string
	args   []any
	checks pipeline.CheckReporter
}

func newHCLogger(entry *logrus.Entry, checks pipeline.CheckReporter) hclog.Logger {
	return &logrusLogger{entry: entry, checks: checks}
}

func (l *logrusLogger) Log(level hclog.Level, msg string, args ...any) {
	fields := logrus.Fields{}
	addPairs(fields, l.args)
	addPairs(fields, args)
	if f, ok := checkLine(msg); ok {
		if c, ok := checkOf(f); ok && l.checks != nil {
			l.checks.ReportCheck(c)
		}
		for k, v := range f {
			if !strings.HasPrefix(k, "@") {
				fields[k] = v
			}
		}
		level, msg = hclog.Debug, checkMessage
	}
	lv := toLogrus(level)
	if !l.entry.Logger.IsLevelEnabled(lv) {
		return
	}
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
	return &logrusLogger{entry: l.entry, name: l.name, args: append(append([]any(nil), l.args...), args...), checks: l.checks}
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

// LogLeveler is implemented by a connector config that asks for more of
// its own logging than log.level (connectors.shopify.debug, log_level):
// the host then prints that connector's lines, its plugin's and its own,
// down to that level, and everything else still at log.level.
type LogLeveler interface {
	ConnectorLogLevel() logrus.Level
}

// connectorLog is the logger of the connector whose config is spec.
func connectorLog(base *logrus.Entry, spec any) *logrus.Entry {
	if lv, ok := spec.(LogLeveler); ok && base != nil {
		return componentLog(base, lv.ConnectorLogLevel())
	}
	return base
}

// componentLog returns base for a component whose lines print down to
// level: base itself when log.level already shows them, else an entry of
// a logger of its own (base's output, formatter, hooks and fields) at
// level. The two loggers share one locked writer, so their lines never
// interleave whatever the output is.
func componentLog(base *logrus.Entry, level logrus.Level) *logrus.Entry {
	host := base.Logger
	if host.IsLevelEnabled(level) {
		return base
	}
	out := sharedOutput(host)
	l := &logrus.Logger{Out: out, Formatter: host.Formatter, Hooks: host.Hooks, Level: level,
		ExitFunc: host.ExitFunc, ReportCaller: host.ReportCaller, BufferPool: host.BufferPool}
	return logrus.NewEntry(l).WithFields(base.Data)
}

// lockedWriter serializes the writes of the loggers that share it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

var sharedOutputMu sync.Mutex

// sharedOutput puts host's output behind a lockedWriter (once) and
// returns it.
func sharedOutput(host *logrus.Logger) *lockedWriter {
	sharedOutputMu.Lock()
	defer sharedOutputMu.Unlock()
	if lw, ok := host.Out.(*lockedWriter); ok {
		return lw
	}
	lw := &lockedWriter{w: host.Out}
	host.SetOutput(lw)
	return lw
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
		pluginLog = durationLogger{hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: os.Stderr, JSONFormat: true})}
	})
	return pluginLog
}

// durationLogger writes time.Duration arguments as text ("2.006s"): JSON
// would carry them as nanoseconds, which the host then prints as a float
// (took=2.006e+09).
type durationLogger struct{ hclog.Logger }

func durationArgs(args []any) []any {
	var out []any // a copy, made only when there is a duration
	for i, a := range args {
		if d, ok := a.(time.Duration); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = d.String()
		}
	}
	if out == nil {
		return args
	}
	return out
}

func (l durationLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, msg, durationArgs(args)...)
}
func (l durationLogger) Trace(msg string, args ...any) { l.Logger.Trace(msg, durationArgs(args)...) }
func (l durationLogger) Debug(msg string, args ...any) { l.Logger.Debug(msg, durationArgs(args)...) }
func (l durationLogger) Info(msg string, args ...any)  { l.Logger.Info(msg, durationArgs(args)...) }
func (l durationLogger) Warn(msg string, args ...any)  { l.Logger.Warn(msg, durationArgs(args)...) }
func (l durationLogger) Error(msg string, args ...any) { l.Logger.Error(msg, durationArgs(args)...) }
func (l durationLogger) With(args ...any) hclog.Logger {
	return durationLogger{l.Logger.With(durationArgs(args)...)}
}
func (l durationLogger) Named(name string) hclog.Logger { return durationLogger{l.Logger.Named(name)} }
func (l durationLogger) ResetNamed(name string) hclog.Logger {
	return durationLogger{l.Logger.ResetNamed(name)}
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
		switch x := v.(type) {
		case error:
			v = x.Error()
		case time.Duration:
			// As text: JSON would carry nanoseconds, which the host
			// prints as a float (took=2.006e+09).
			v = x.String()
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

// checkMessage and checkLevel mark a log line that carries a connection
// check.
const (
	checkMessage = "connection check"
	checkLevel   = "check"
)

// The fields of a connection check line.
const (
	checkService = "check_service"
	checkShop    = "check_shop"
	checkOK      = "check_ok"
	checkDetail  = "check_detail"
)

// ReportCheck tells the host, from inside a plugin process, how a service
// answered the plugin's credentials: ok when err is nil (detail says what
// answered), failed with err's text otherwise. The shop is log's shop
// field (the one tajo's logs carry). Saying a failure to people is the
// caller's business; the check line is for the host only. Call it where
// the answer arrives, not where the plugin merely stopped (a canceled
// context is no answer).
//
// The line has no hclog level: go-plugin drops lines below the host's log
// level before the host sees them, and passes a line without a level to
// the host whole, whatever its level and the plugin's.
func ReportCheck(log *logrus.Entry, service string, err error, detail string) {
	ok := err == nil
	if !ok {
		detail = err.Error()
	}
	shop, _ := log.Data["shop"].(string)
	b, jerr := json.Marshal(map[string]any{"@message": checkMessage, "@level": checkLevel,
		checkService: service, checkShop: shop, checkOK: ok, checkDetail: detail})
	if jerr != nil {
		return
	}
	// One write of one line: on the stderr pipe, lines do not interleave.
	_, _ = log.Logger.Out.Write(append(b, '\n'))
}

// checkLine decodes a check line that go-plugin handed over whole.
func checkLine(msg string) (logrus.Fields, bool) {
	if !strings.HasPrefix(msg, "{") || !strings.Contains(msg, checkMessage) {
		return nil, false
	}
	var f map[string]any
	if json.Unmarshal([]byte(msg), &f) != nil || f["@message"] != checkMessage || f["@level"] != checkLevel {
		return nil, false
	}
	return f, true
}

// checkOf reads a check line's fields.
func checkOf(f logrus.Fields) (pipeline.ConnectionCheck, bool) {
	service, _ := f[checkService].(string)
	ok, isBool := f[checkOK].(bool)
	if service == "" || !isBool {
		return pipeline.ConnectionCheck{}, false
	}
	shop, _ := f[checkShop].(string)
	detail, _ := f[checkDetail].(string)
	return pipeline.ConnectionCheck{Time: time.Now().UTC(), Service: service, Shop: shop, OK: ok, Detail: detail}, true
}

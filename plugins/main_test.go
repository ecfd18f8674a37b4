package plugins_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/plugins/echo"
)

// TestMain turns this test binary into the echo plugin when a host launches
// it (go-plugin's cookie is then the one variable it sees), so process tests
// need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv(plugins.Handshake.MagicCookieKey) == plugins.Handshake.MagicCookieValue {
		plugins.Serve("echo", echo.New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testLog returns a logger whose entries the test can inspect.
func testLog(t *testing.T) (*logrus.Entry, *test.Hook) {
	l, hook := test.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
	}
	return logrus.NewEntry(l).WithField("test", t.Name()), hook
}

// inProcess is a Launcher serving a fresh echo plugin in this process each
// time it is called; it remembers them so tests can look inside.
type inProcess struct {
	mu      sync.Mutex
	plugins []*echo.Plugin
	running []*plugins.Plugin
	log     *logrus.Entry
}

func (l *inProcess) launch(ctx context.Context) (*plugins.Plugin, error) {
	e := echo.New()
	p, err := plugins.ServeTest(ctx, "echo", e, l.log)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.plugins = append(l.plugins, e)
	l.running = append(l.running, p)
	l.mu.Unlock()
	return p, nil
}

func (l *inProcess) last() (*echo.Plugin, *plugins.Plugin) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.plugins) == 0 {
		return nil, nil
	}
	return l.plugins[len(l.plugins)-1], l.running[len(l.running)-1]
}

func (l *inProcess) launches() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.plugins)
}

func openState(t *testing.T) state.Store {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

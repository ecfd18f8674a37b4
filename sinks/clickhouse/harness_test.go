package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
)

// backendHarness gives the shared suite fresh, empty stores on one backend.
type backendHarness struct {
	name string
	// fresh returns the DSN and data dir of a store nothing has written to.
	fresh func(t testing.TB) (dsn, dataDir string)
	// stop and start take the backend down and up again; nil when the
	// backend cannot be down (chDB runs in-process).
	stop, start func() error
}

var (
	srvOnce sync.Once
	srv     *chtest.Server
	srvErr  error
	srvDir  string
	dbSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if srv != nil {
		_ = srv.Stop()
	}
	if srvDir != "" {
		_ = os.RemoveAll(srvDir)
	}
	os.Exit(code)
}

// unavailable fails the test when RequireEnv is set and skips it otherwise.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if chtest.Required() {
		t.Fatalf("%s=1 and the backend is unavailable: %v", chtest.RequireEnv, err)
	}
	t.Skipf("skipped: %v (set %s=1 to make this a failure)", err, chtest.RequireEnv)
}

func serverHarness(t testing.TB) *backendHarness {
	srvOnce.Do(func() {
		srvDir, srvErr = os.MkdirTemp("", "tajo-clickhouse-")
		if srvErr == nil {
			srv, srvErr = chtest.Start(srvDir)
		}
	})
	if srvErr != nil {
		unavailable(t, srvErr)
	}
	return &backendHarness{
		name: "server",
		fresh: func(t testing.TB) (string, string) {
			return srv.DSN(fmt.Sprintf("tajo_test_%d_%d", os.Getpid(), dbSeq.Add(1))), t.TempDir()
		},
		stop:  srv.Stop,
		start: srv.Restart,
	}
}

func chdbHarness(t testing.TB) *backendHarness {
	if err := CheckLibrary(); err != nil {
		unavailable(t, err)
	}
	return &backendHarness{
		name: "chdb",
		fresh: func(t testing.TB) (string, string) {
			// A relative chdb:// directory, resolved against the data dir
			// as in pipeline.yaml.
			return DefaultDSN, t.TempDir()
		},
	}
}

// open opens a fresh store with cfg's settings (nil for defaults) and closes
// it when the test ends.
func (h *backendHarness) open(t testing.TB, cfg *Config) (*DB, *Config, string) {
	t.Helper()
	dsn, dataDir := h.fresh(t)
	if cfg == nil {
		cfg = DefaultConfig()
	}
	c := *cfg
	c.DSN = dsn
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := OpenConfig(ctx, &c, dataDir)
	if err != nil {
		t.Fatalf("open %s: %v", h.name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, &c, dataDir
}

func TestServer(t *testing.T) { runSuite(t, serverHarness(t)) }

func TestChdb(t *testing.T) { runSuite(t, chdbHarness(t)) }

// TestServerTLS: the tls options reach the server's secure native port,
// and a certificate the client does not trust stops rather than retries.
func TestServerTLS(t *testing.T) {
	serverHarness(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DSN = srv.SecureDSN(fmt.Sprintf("tajo_tls_%d", os.Getpid()))
	cfg.TLS = TLS{Enabled: true, CAFile: srv.CAFile}
	db, err := OpenConfig(ctx, cfg, t.TempDir())
	if err != nil {
		t.Fatalf("open over TLS: %v", err)
	}
	if st, err := db.Status(ctx, ""); err != nil || st.Backend != "server" {
		t.Errorf("status over TLS: %+v %v", st, err)
	}
	db.Close()

	cfg.TLS = TLS{Enabled: true} // system roots do not include the test CA
	if _, err := OpenConfig(ctx, cfg, t.TempDir()); pipeline.ClassOf(err) != pipeline.Fatal || pipeline.CodeOf(err) != "tls" {
		t.Errorf("untrusted certificate: %v, want a fatal tls error", err)
	}
}

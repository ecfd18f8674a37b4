package plugins_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins"
)

// self launches this test binary, which TestMain turns into the echo plugin.
func self(t *testing.T, log *logrus.Entry) plugins.LaunchConfig {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return plugins.LaunchConfig{Name: "echo", Path: exe, Log: log}
}

func seqOf(t *testing.T, r *pipeline.Record) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(string(r.Value), `{"seq":%d}`, &n); err != nil {
		t.Fatalf("record %q: %v", r.Value, err)
	}
	return n
}

func readN(t *testing.T, ctx context.Context, src pipeline.Source, n int) []*pipeline.Record {
	t.Helper()
	var out []*pipeline.Record
	for len(out) < n {
		recs, err := src.Read(ctx, n-len(out))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestNoHostEnvironment: a launched plugin sees go-plugin's handshake
// variables and nothing of the host's environment, and its logs arrive in
// the host's logrus with the plugin's name.
func TestNoHostEnvironment(t *testing.T) {
	t.Setenv("TAJO_TEST_SECRET", "hunter2")
	log, hook := testLog(t)
	ctx := ctxFor(t, 30*time.Second)
	p, err := plugins.Launch(ctx, self(t, log))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if err := p.Source().Configure(ctx, []byte(`{"count":3}`)); err != nil {
		t.Fatal(err)
	}
	msg, err := p.Source().TestConnection(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Split(strings.TrimPrefix(msg, "environment: "), ",")
	for _, n := range names {
		if n != plugins.Handshake.MagicCookieKey && !strings.HasPrefix(n, "PLUGIN_") {
			t.Errorf("plugin environment has %s (all: %v)", n, names)
		}
	}
	if strings.Contains(msg, "TAJO_TEST_SECRET") || strings.Contains(msg, "PATH") || strings.Contains(msg, "HOME") {
		t.Errorf("host environment leaked into the plugin: %s", msg)
	}
	eventually(t, 10*time.Second, "the plugin's log line in logrus", func() bool {
		for _, e := range hook.AllEntries() {
			if e.Message == "echo configured" && e.Data["plugin"] == "echo" && e.Level == logrus.InfoLevel && fmt.Sprint(e.Data["count"]) == "3" {
				return true
			}
		}
		return false
	})
	pid := p.Pid()
	p.Kill()
	eventually(t, 5*time.Second, "the process to exit", func() bool { return !alive(pid) })
}

// TestCrashRestart kills the plugin process mid-run: the webhook in flight
// gets 503, the host restarts the plugin with backoff from the last acked
// position, so acked records are not produced again and none after them is
// skipped, and webhooks work again.
func TestCrashRestart(t *testing.T) {
	log, hook := testLog(t)
	st := openState(t)
	src := plugins.NewSource(plugins.SourceConfig{
		Name: "echo", Launch: self(t, log), State: st, Log: log,
		Config:         []byte(`{"count":100}`),
		RestartInitial: 50 * time.Millisecond, HealthInterval: 200 * time.Millisecond,
	})
	mux := http.NewServeMux()
	src.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := ctxFor(t, 60*time.Second)
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())

	first := readN(t, ctx, src, 30)
	if err := src.Ack(ctx, positions(first[:20])); err != nil {
		t.Fatal(err)
	}
	inFlight := post(srv, "/webhooks/echo", []byte("slow"), map[string]string{"X-Echo-Sleep": "30s"})
	time.Sleep(300 * time.Millisecond) // let it reach the plugin
	pid := src.Pid()
	if pid == 0 {
		t.Fatal("no plugin process")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, inFlight); r.status != http.StatusServiceUnavailable {
		t.Fatalf("webhook in flight during the crash got %d %q, want 503", r.status, r.body)
	}
	eventually(t, 20*time.Second, "a new plugin process", func() bool { n := src.Pid(); return n != 0 && n != pid })

	// The engine still acks what it read before the crash.
	if err := src.Ack(ctx, positions(first[20:])); err != nil {
		t.Fatal(err)
	}
	again := readN(t, ctx, src, 80)
	for i, r := range again {
		if got := seqOf(t, r); got != 20+i {
			t.Fatalf("after restart record %d is seq %d, want %d (resume right after the last ack)", i, got, 20+i)
		}
	}
	if err := src.Ack(ctx, positions(again)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Get("plugins.echo", "position"); binary.BigEndian.Uint64(got) != 99 {
		t.Fatalf("persisted position %x, want 99", got)
	}

	res := post(srv, "/webhooks/echo", []byte("after the crash"), nil)
	recs := readN(t, ctx, src, 1)
	if string(recs[0].Value) != "after the crash" {
		t.Fatalf("webhook record %q", recs[0].Value)
	}
	if err := src.Ack(ctx, positions(recs)); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 {
		t.Fatalf("webhook after restart got %d", r.status)
	}
	var restarted bool
	for _, e := range hook.AllEntries() {
		restarted = restarted || e.Message == "plugin restarted"
	}
	if !restarted {
		t.Error("the restart was not logged")
	}
	newPid := src.Pid()
	if err := src.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	eventually(t, 10*time.Second, "the plugin to exit on close", func() bool { return !alive(newPid) })
}

// TestFrozenPluginRestarted: a process that stops answering (SIGSTOP) keeps
// its connections open; only the health check notices, and the host kills
// and replaces it.
func TestFrozenPluginRestarted(t *testing.T) {
	log, _ := testLog(t)
	src := plugins.NewSource(plugins.SourceConfig{
		Name: "echo", Launch: self(t, log), Log: log, Config: []byte(`{"count":5}`),
		RestartInitial: 50 * time.Millisecond, HealthInterval: 100 * time.Millisecond, HealthTimeout: 300 * time.Millisecond,
	})
	ctx := ctxFor(t, 60*time.Second)
	if err := src.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	pid := src.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	eventually(t, 30*time.Second, "a new plugin process", func() bool { n := src.Pid(); return n != 0 && n != pid })
	eventually(t, 10*time.Second, "the frozen process to be killed", func() bool { return !alive(pid) })
	if recs := readN(t, ctx, src, 5); seqOf(t, recs[0]) != 0 {
		t.Fatalf("first record %q", recs[0].Value)
	}
}

// TestLaunchFromDir resolves external plugin binaries in plugins.dir.
func TestLaunchFromDir(t *testing.T) {
	log, _ := testLog(t)
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "thirdparty")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	p, err := plugins.Launch(ctx, plugins.LaunchConfig{Name: "thirdparty", Dir: dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := p.Source().Specify(ctx)
	p.Kill()
	if err != nil || spec.Name != "echo" {
		t.Fatalf("specify: %+v, %v", spec, err)
	}
	for name, want := range map[string]string{
		"noexec":  "not executable",
		"missing": "not built in and no executable",
		"../x":    "invalid plugin name",
	} {
		_, err := plugins.Launch(ctx, plugins.LaunchConfig{Name: name, Dir: dir, Log: log})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("launch %s: %v, want %q", name, err, want)
		}
	}
	// A binary that is not a plugin fails the handshake and is killed.
	_, err = plugins.Launch(ctx, plugins.LaunchConfig{Name: "true", Path: "/bin/true", Log: log, StartTimeout: 5 * time.Second})
	if err == nil {
		t.Fatal("launching /bin/true succeeded")
	}
	// A checksum mismatch refuses to start the binary.
	_, err = plugins.Launch(ctx, plugins.LaunchConfig{Name: "thirdparty", Dir: dir, Log: log, SHA256: make([]byte, 32)})
	if !errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		t.Fatalf("launch with a wrong checksum: %v, want a checksum mismatch", err)
	}
}

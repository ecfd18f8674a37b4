package plugins_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/plugins"
)

// TestRealBinary builds tajo and runs `tajo plugin echo` under the host:
// the command, the handshake over stdout, mTLS, logs over stderr, the
// stream and a webhook, exactly as `tajo run` will.
func TestRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tajo binary")
	}
	bin := filepath.Join(t.TempDir(), "tajo")
	build := exec.Command("go", "build", "-o", bin, "github.com/tajo/tajo/cmd/tajo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("TAJO_TEST_SECRET", "hunter2")
	log, hook := testLog(t)
	src, _, srv := newHarness(t, plugins.SourceConfig{
		Launcher: func(ctx context.Context) (*plugins.Plugin, error) {
			return plugins.Launch(ctx, plugins.LaunchConfig{Name: "echo", Path: bin, Args: []string{"plugin", "echo"}, Log: log})
		},
		Config: []byte(`{"count":5}`),
	})
	ctx := ctxFor(t, 60*time.Second)
	pid := src.Pid()
	if pid == 0 {
		t.Fatal("no plugin process")
	}
	recs := readN(t, ctx, src, 5)
	if seqOf(t, recs[4]) != 4 {
		t.Fatalf("fifth record %q", recs[4].Value)
	}
	res := post(srv, "/webhooks/echo", []byte(`{"hello":"wörld"}`), nil)
	hooks := readN(t, ctx, src, 1)
	if string(hooks[0].Value) != `{"hello":"wörld"}` {
		t.Fatalf("webhook record %q", hooks[0].Value)
	}
	notYet(t, res, 100*time.Millisecond)
	if err := src.Ack(ctx, positions(append(recs, hooks...))); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.status != 200 || r.body != "ok" {
		t.Fatalf("webhook answered %d %q", r.status, r.body)
	}
	var logged bool
	for _, e := range hook.AllEntries() {
		logged = logged || (e.Message == "echo configured" && e.Data["plugin"] == "echo")
	}
	if !logged {
		t.Error("the plugin's log line did not reach logrus")
	}
	if err := src.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	eventually(t, 10*time.Second, "tajo plugin echo to exit", func() bool { return !alive(pid) })

	// Without the host's handshake, the command explains itself instead of
	// waiting for a host that will never come.
	out, err := exec.Command(bin, "plugin", "echo").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "This binary is a plugin") {
		t.Fatalf("tajo plugin echo run by hand: %v, %s", err, out)
	}
}

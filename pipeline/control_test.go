package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// controlProbe mounts an endpoint on the control router, as the history
// sink mounts its API.
type controlProbe struct{}

func (controlProbe) Open(context.Context) error                      { return nil }
func (controlProbe) Close(context.Context) error                     { return nil }
func (controlProbe) Write(context.Context, []*pipeline.Record) error { return nil }

func init() {
	pipeline.RegisterSink("control_probe", func() any { return &struct{}{} }, func(_ any, env pipeline.Env) (pipeline.Sink, error) {
		if env.Control == nil {
			return nil, fmt.Errorf("no control router")
		}
		env.Control.HandleFunc("POST /api/probe", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "probed") })
		return controlProbe{}, nil
	})
}

// The runner serves /status and what components mount on Env.Control on
// the control listener only, behind the token it generated into data_dir;
// the webhook listener has /healthz and nothing of it.
func TestRunnerControlListener(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: "127.0.0.1:0"}
control: {listen: "127.0.0.1:0"}
broker: none
sources:
  generator: {count: 100000, rate: 10}
sinks:
  control_probe: {}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	r := pipeline.NewRunner(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); r.ControlAddr() == "" || r.Addr() == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listeners never started")
		}
	}
	token, err := os.ReadFile(filepath.Join(dir, "control.token"))
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, addr, path, token string) int {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader("{}"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	web, ctl, tok := r.Addr(), r.ControlAddr(), string(token)
	for _, c := range []struct {
		name, method, addr, path, token string
		want                            int
	}{
		{"webhook /healthz", "GET", web, "/healthz", "", 200},
		{"webhook /status", "GET", web, "/status", tok, 404},
		{"webhook control route", "POST", web, "/api/probe", tok, 404},
		{"control /status without token", "GET", ctl, "/status", "", 401},
		{"control route without token", "POST", ctl, "/api/probe", "", 401},
		{"control /status", "GET", ctl, "/status", tok, 200},
		{"control route", "POST", ctl, "/api/probe", tok, 200},
	} {
		if got := do(c.method, c.addr, c.path, c.token); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

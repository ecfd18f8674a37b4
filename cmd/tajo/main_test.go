package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(`version: 1
server:
  listne: 127.0.0.1:8080
log:
  level: loud
broker:
  brokers: ["${TAJO_TEST_NOT_SET}"]
sinks:
  file: {path: out.jsonl}
`), 0o644)
	var out, errb bytes.Buffer
	code := run([]string{"validate", "-c", path}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errb.String())
	}
	for _, want := range []string{
		"3 problem(s)",
		`server.listne: unknown key (did you mean "listen"?)`,
		"log.level: must be one of trace, debug, info, warn, error",
		"broker.brokers[0]: environment variable TAJO_TEST_NOT_SET is not set",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestValidateDefaultConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "-c", "../../pipeline.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("default pipeline.yaml: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Fatalf("stdout: %q", out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if code := run([]string{"validate", "-c", "/nonexistent.yaml"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Fatalf("missing file: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tajo ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}

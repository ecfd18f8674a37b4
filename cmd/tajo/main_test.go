package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	noCredentials(t)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--dev", "-c", "../../pipeline.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("default pipeline.yaml with --dev: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Fatalf("stdout: %q", out.String())
	}
	t.Setenv("SHOPIFY_API_SECRET", "secret")
	t.Setenv("SHOPIFY_ACCESS_TOKEN", "shpat_token")
	t.Setenv("BREVO_API_KEY", "xkeysib-key")
	out.Reset()
	if code := run([]string{"validate", "-c", "../../pipeline.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("default pipeline.yaml with credentials: exit %d\n%s", code, errb.String())
	}
}

// noCredentials clears the variables the default pipeline.yaml reads
// credentials from (an empty value counts as unset there).
func noCredentials(t *testing.T) {
	for _, k := range []string{"SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "SHOPIFY_API_KEY", "SHOPIFY_SHOP", "SHOPIFY_ADMIN_URL", "BREVO_API_KEY"} {
		t.Setenv(k, "")
	}
}

// Fail closed: without --dev, a missing credential is refused by name, by
// tajo validate and by tajo run alike, and nothing is simulated.
func TestMissingCredentialsStopTheStart(t *testing.T) {
	noCredentials(t)
	t.Setenv("TAJO_DATA_DIR", t.TempDir())
	t.Setenv("TAJO_LISTEN", "127.0.0.1:0")
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "-c", "../../pipeline.yaml"}, &out, &errb); code != 1 {
		t.Fatalf("validate without credentials: exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"connectors.shopify.api_secret: SHOPIFY_API_SECRET is not set: export it, or run with --dev to simulate the Shopify store",
		"connectors.shopify.access_token: SHOPIFY_ACCESS_TOKEN is not set: export it, or run with --dev to simulate the Shopify store",
		"sinks.brevo.api_key: BREVO_API_KEY is not set: export it, or run with --dev to simulate Brevo",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("validate: stderr lacks %q:\n%s", want, errb.String())
		}
	}

	// A production run with Shopify's credentials and no Brevo key.
	t.Setenv("SHOPIFY_SHOP", "real-store.myshopify.com")
	t.Setenv("SHOPIFY_API_SECRET", "shpss_secret")
	t.Setenv("SHOPIFY_ACCESS_TOKEN", "shpat_token")
	errb.Reset()
	code := make(chan int, 1)
	go func() { code <- run([]string{"run", "-c", "../../pipeline.yaml"}, &out, &errb) }()
	select {
	case c := <-code:
		if c != 1 {
			t.Fatalf("run without BREVO_API_KEY: exit %d, want 1\n%s", c, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run without BREVO_API_KEY started instead of stopping")
	}
	msg := errb.String()
	if !strings.Contains(msg, "BREVO_API_KEY is not set: export it, or run with --dev to simulate Brevo") {
		t.Fatalf("run: stderr does not name BREVO_API_KEY:\n%s", msg)
	}
	if strings.Contains(msg, "SHOPIFY") || strings.Contains(msg, "simulating") {
		t.Fatalf("run: stderr says more than the missing key:\n%s", msg)
	}
}

// dev.simulate: auto, the old fail-open default, is refused with the way
// out rather than read as "missing".
func TestSimulateAutoIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte("version: 1\ndev: {simulate: auto}\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "--dev", "-c", path}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), `dev.simulate: "auto" is no longer accepted`) {
		t.Fatalf("exit %d\n%s", code, errb.String())
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

// No secret in error text: a ClickHouse DSN whose password holds a bare %
// does not parse, and tajo validate says so without printing it.
func TestValidateMasksDSNPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte(`version: 1
sinks:
  clickhouse: {dsn: "clickhouse://default:s3cr%t-pw@127.0.0.1:9000/tajo"}
`), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "-c", path}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "sinks.clickhouse.dsn") {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if strings.Contains(errb.String(), "s3cr") || !strings.Contains(errb.String(), "default:xxxxx@127.0.0.1:9000") {
		t.Fatalf("the password shows, or the DSN is not recognisable:\n%s", errb.String())
	}
}

//go:build integration

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// The first run: `tajo run --dev` (what `make run` does) on the default
// pipeline.yaml with no credentials backfills a simulated store, takes its
// webhooks, fills a simulated Brevo account and keeps the history in
// embedded ClickHouse.
func TestFirstRunWithoutCredentials(t *testing.T) {
	if err := clickhouse.CheckLibrary(); err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath, _ := filepath.Abs("../../pipeline.yaml")
	logPath := filepath.Join(dir, "tajo.log")
	logf, _ := os.Create(logPath)
	defer logf.Close()
	cmd := exec.Command(tajoBin, "run", "--dev", "-c", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A free control port too: a developer's make run may hold 8081.
	control := "TAJO_CONTROL_LISTEN=" + freeAddr(t)
	cmd.Env = append(withoutCredentials(os.Environ()), "TAJO_DATA_DIR="+dir, "TAJO_LISTEN="+addr, control)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	env := append(withoutCredentials(os.Environ()), "TAJO_DATA_DIR="+dir, "TAJO_LISTEN="+addr, control)
	// customersCount counts the customers synced to Brevo: every
	// simulated customer with an email or a phone (Brevo takes no contact
	// without an identifier).
	sim := shopifytest.NewStore(shopifytest.Options{Customers: 200, Orders: 400, Products: 20, Checkouts: 30}.WithDefaults())
	var customers uint64
	for i := range 200 {
		if c := sim.CustomerAt(i); c.Email != "" || c.Phone != "" {
			customers++
		}
	}
	sim.Close()
	var st clickhouse.Status
	deadline := time.Now().Add(3 * time.Minute)
	for st.CustomersCount < customers || st.OrdersCount < 400 || st.ProductsCount < 20 {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the simulated store was not synced within 3 minutes: %+v\n%s", st, tail(string(b), 30))
		}
		time.Sleep(time.Second)
		c := exec.Command(tajoBin, "connectors", "status", "shopify", "-c", cfgPath, "--json")
		c.Env = env
		out, err := c.Output()
		if err == nil {
			json.Unmarshal(out, &st)
		}
	}
	c := exec.Command(tajoBin, "connectors", "logs", "shopify", "-c", cfgPath, "--type", "webhook")
	c.Env = env
	out, err := c.Output()
	if err != nil || !strings.Contains(string(out), "orders/create") || !strings.Contains(string(out), "valid") {
		t.Fatalf("webhook log: %v\n%s", err, out)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tajo run did not stop cleanly: %v", err)
	}
	b, _ := os.ReadFile(logPath)
	m := regexp.MustCompile(`simulated Brevo account: (\d+) contacts, (\d+) events, (\d+) orders, (\d+) products`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no summary of the simulated Brevo account:\n%s", tail(string(b), 20))
	}
	contacts, _ := strconv.Atoi(m[1])
	orders, _ := strconv.Atoi(m[3])
	products, _ := strconv.Atoi(m[4])
	// Nearly every simulated customer has an email; guest orders without
	// one are rejected (Brevo needs an identifier) and dead-lettered, the
	// rest reach Brevo, as does every product.
	// Products: the 20 products and, with sync.products.include_variants
	// (the default), each variant as a product of its own.
	if contacts < 190 || orders < 380 || products < 20 {
		t.Fatalf("simulated Brevo account: %s", m[0])
	}
}

// Fail closed: the real binary, run as in production with Shopify's
// credentials and no Brevo key, stops at once with exit 1 and names the
// variable; it starts nothing and simulates nothing.
func TestRunWithoutBrevoKeyFailsClosed(t *testing.T) {
	dir := t.TempDir()
	cfgPath, _ := filepath.Abs("../../pipeline.yaml")
	cmd := exec.Command(tajoBin, "run", "-c", cfgPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Env = append(withoutCredentials(os.Environ()), "TAJO_DATA_DIR="+filepath.Join(dir, "data"), "TAJO_LISTEN="+freeAddr(t), "TAJO_CONTROL_LISTEN="+freeAddr(t),
		"SHOPIFY_SHOP=real-store.myshopify.com", "SHOPIFY_ACCESS_TOKEN=shpat_real", "SHOPIFY_API_SECRET=shpss_real")
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("tajo run without BREVO_API_KEY kept running:\n%s", tail(stderr.String(), 20))
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "BREVO_API_KEY is not set: export it, or run with --dev to simulate Brevo") {
		t.Fatalf("stderr does not name BREVO_API_KEY:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a refused start created data_dir: %v", err)
	}
}

// withoutCredentials drops the variables that would make the first run talk
// to the real services.
func withoutCredentials(env []string) []string {
	var out []string
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		switch k {
		case "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET", "SHOPIFY_API_KEY", "SHOPIFY_SHOP", "BREVO_API_KEY", "TAJO_SIMULATE":
			continue
		}
		out = append(out, e)
	}
	return out
}

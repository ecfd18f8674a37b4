//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tajoCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(tajoBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// The seed's three commands and tajo query print the figures of a known
// run, first through a running tajo (which holds the embedded store), then
// from the store directly after it stopped.
func TestConnectorsCommandsOnAKnownRun(t *testing.T) {
	if err := clickhouse.CheckLibrary(); err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	addr, ctl := freeAddr(t), freeAddr(t)
	// 400 generator events: 4 types in turn (customer_updated, order_placed,
	// cart_updated, customer_created) over 50 customers.
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: "%s"}
control: {listen: "%s"}
pipeline: {progress_interval: 1s, commit_interval: 100ms}
dead_letter: {sink: clickhouse}
sources:
  generator: {count: 400, rate: 0, customers: 50, shops: [a.myshopify.com]}
sinks:
  clickhouse: {dsn: "chdb://history", flush_interval: 100ms}
  file: {path: out.jsonl}
`, dir, addr, ctl)
	cfgPath := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	logPath := filepath.Join(dir, "tajo.log")
	cmd := startTajo(t, cfgPath, logPath)

	var st clickhouse.Status
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, errOut, code := tajoCLI(t, "connectors", "status", "shopify", "-c", cfgPath, "--json")
		if code == 0 {
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status --json is not JSON: %v\n%s", err, out)
			}
			if st.OrdersCount == 100 {
				break
			}
		}
		if time.Now().After(deadline) || strings.Contains(errOut, "configuration") {
			logs, _ := os.ReadFile(logPath)
			t.Fatalf("status never reached 100 orders: %+v (exit %d: %s)\n%s", st, code, errOut, tail(string(logs), 30))
		}
		time.Sleep(500 * time.Millisecond)
	}
	// 100 orders; customers: events 0, 3, 4, 7, … touch (seq*7919+1) mod 50,
	// which covers all 50; carts are not counted.
	// No Shopify store and no Brevo sink: nothing was checked, so the
	// history cannot say connected.
	if st.Connected != clickhouse.Unknown || st.CustomersCount != 50 || st.ProductsCount != 0 || st.ErrorRate != 0 || st.LastSync == nil {
		t.Fatalf("status through the running tajo: %+v", st)
	}
	// Each event has one step, at the file sink: the history's own copy is
	// not a step.
	if st.Events != 400 || st.Delivered != 400 {
		t.Fatalf("events = %d, delivered = %d, want 400 (400 events, one file step each)", st.Events, st.Delivered)
	}
	out, errOut, code := tajoCLI(t, "connectors", "history", "shopify", "-c", cfgPath, "--limit", "3")
	if code != 0 || !strings.Contains(out, "(3 rows)") || !strings.Contains(out, "delivered") || strings.Contains(out, "4294967295") {
		t.Fatalf("history --limit 3 (exit %d): %s%s", code, out, errOut)
	}
	out, _, code = tajoCLI(t, "query", "-c", cfgPath, "--json", "SELECT sink, count() AS n FROM sync_history FINAL GROUP BY sink ORDER BY sink")
	if code != 0 || !strings.Contains(out, `{"sink": "clickhouse", "n": 400}`) || !strings.Contains(out, `{"sink": "file", "n": 400}`) {
		t.Fatalf("query: %s", out)
	}
	_, errOut, code = tajoCLI(t, "query", "-c", cfgPath, "DROP TABLE sync_history")
	if code != 1 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("a write through the running tajo must be refused: exit %d %s", code, errOut)
	}
	testControlAPIIsClosed(t, dir, cfgPath, addr, ctl)

	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tajo run did not stop cleanly: %v", err)
	}
	// Now straight from the store, and a second run does not double-count
	// (the generator resumes after its last ack: nothing is redelivered).
	out, errOut, code = tajoCLI(t, "connectors", "status", "shopify", "-c", cfgPath)
	if code != 0 || !strings.Contains(out, "100") {
		t.Fatalf("status from the store (exit %d): %s%s", code, out, errOut)
	}
	out, errOut, code = tajoCLI(t, "connectors", "logs", "shopify", "-c", cfgPath, "--type", "sync", "--last", "0", "--limit", "5", "--json")
	if code != 0 || strings.Count(out, `"event_id"`) != 5 {
		t.Fatalf("logs --type sync --limit 5 (exit %d): %s%s", code, out, errOut)
	}
	_, errOut, code = tajoCLI(t, "connectors", "logs", "shopify", "-c", cfgPath, "--type", "everything")
	if code != 2 || !strings.Contains(errOut, "--type must be one of webhook, error, sync") {
		t.Fatalf("bad --type: exit %d %s", code, errOut)
	}
}

// testControlAPIIsClosed: against a running tajo, the history API is on the
// control listener only, behind the token tajo generated into data_dir,
// and reads tajo's tables only, with bounded results.
func testControlAPIIsClosed(t *testing.T, dir, cfgPath, webhookAddr, ctl string) {
	t.Helper()
	post := func(addr, token string, hdr map[string]string, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+clickhouse.APIPath, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tokBytes, err := os.ReadFile(filepath.Join(dir, "control.token"))
	fi, serr := os.Stat(filepath.Join(dir, "control.token"))
	if err != nil || serr != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("data_dir/control.token: %v %v", err, serr)
	}
	token := strings.TrimSpace(string(tokBytes))
	status := `{"kind": "status", "json": true}`
	if code, _ := post(webhookAddr, token, nil, status); code != http.StatusNotFound {
		t.Errorf("/api/history on the webhook listener: %d, want 404", code)
	}
	if code, _ := post(ctl, "", nil, status); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := post(ctl, strings.Repeat("x", len(token)), nil, status); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	_, port, _ := net.SplitHostPort(ctl)
	if code, _ := post(ctl, token, map[string]string{"Host": "rebind.evil.example:" + port}, status); code != http.StatusForbidden {
		t.Errorf("rebinding Host: %d, want 403", code)
	}
	if code, _ := post(ctl, token, map[string]string{"Origin": "http://evil.example"}, status); code != http.StatusForbidden {
		t.Errorf("foreign Origin: %d, want 403", code)
	}
	if code, body := post(ctl, token, nil, status); code != http.StatusOK || !strings.Contains(body, `"ordersCount": 100`) {
		t.Errorf("status with the token: %d %s", code, body)
	}
	for _, q := range []string{
		"SELECT * FROM file('/etc/passwd', 'LineAsString')",
		"SELECT * FROM file('/proc/self/environ', 'LineAsString')",
		"SELECT * FROM url('http://127.0.0.1:1/x', 'LineAsString')",
		"SELECT name FROM system.tables",
		"WITH 1 AS y INSERT INTO sync_history SELECT * FROM sync_history",
		"SELECT * FROM sync_history INTO OUTFILE '/tmp/tajo-outfile' APPEND",
		"SELECT 1; SELECT 2",
	} {
		body, _ := json.Marshal(clickhouse.ReportRequest{Kind: "query", SQL: q})
		if code, msg := post(ctl, token, nil, string(body)); code != http.StatusForbidden || !strings.Contains(msg, "read-only query refused") {
			t.Errorf("%s: %d %s, want 403 and a refusal", q, code, msg)
		}
		if _, errOut, code := tajoCLI(t, "query", "-c", cfgPath, q); code != 1 || !strings.Contains(errOut, "read-only query refused") {
			t.Errorf("tajo query %s: exit %d %s", q, code, errOut)
		}
	}
	_, errOut, code := tajoCLI(t, "query", "-c", cfgPath, "--max-rows", "10", "SELECT * FROM sync_history")
	if code != 1 || !strings.Contains(errOut, "over the limit of 10 rows") {
		t.Errorf("--max-rows 10 over 800 rows: exit %d %s", code, errOut)
	}
	if _, errOut, code := tajoCLI(t, "query", "-c", cfgPath, "--max-rows", "100000000", "SELECT 1"); code != 1 || !strings.Contains(errOut, "between 1 and") {
		t.Errorf("--max-rows over the cap: exit %d %s", code, errOut)
	}
	// A CLI with another token is told so, not shown another error.
	other := filepath.Join(t.TempDir(), "other.yaml")
	b, _ := os.ReadFile(cfgPath)
	cfgOther := strings.Replace(string(b), fmt.Sprintf("control: {listen: %q}\n", ctl), "", 1)
	os.WriteFile(other, []byte(cfgOther+"control: {listen: \""+ctl+"\", token: \"some-other-token-0123456789\"}\n"), 0o644)
	if _, errOut, code := tajoCLI(t, "connectors", "status", "shopify", "-c", other); code != 1 || !strings.Contains(errOut, "refused this CLI's token, from control.token") {
		t.Errorf("a CLI with another token: exit %d %s", code, errOut)
	}
}

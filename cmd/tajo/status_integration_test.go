//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// `tajo connectors status` says connected only when Shopify answered the
// token and Brevo accepted the key: with a wrong Shopify token, a real run
// (ClickHouse answering, Brevo accepting) shows connected false and the
// 401; with the right one, connected true, each check with its time, and
// GET /status shows the Brevo sink's budget: its requests per endpoint
// group with the limit Brevo announced (General tier: contacts 10/s).
func TestStatusConnectedMeansTheServicesAnswered(t *testing.T) {
	if err := clickhouse.CheckLibrary(); err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	store := shopifytest.New(shopifytest.Options{Customers: 5, Orders: 5, Products: 2, Checkouts: 1})
	defer store.Close()
	o := store.Options()
	const key = "xkeysib-status-0000000000000000-KEY1"
	srv := newBrevoSim(t, brevotest.Options{APIKey: key, GroupLimits: brevotest.GeneralTier()})
	t.Setenv("BREVO_API_KEY", key)

	dir := t.TempDir()
	ctl := freeAddr(t)
	write := func(token string) string {
		cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: %q}
log: {level: info}
pipeline: {progress_interval: 1s, commit_interval: 200ms}
connectors:
  shopify:
    enabled: true
    stores:
      - {shop_url: %s, access_token: %s, api_secret: %s, admin_url: %q}
    sync: {reconcile_every: 0, bulk_poll_interval: 50ms}
sinks:
  clickhouse: {dsn: "chdb://history", flush_interval: 100ms}
  brevo:
    api_key: ${BREVO_API_KEY}
    base_url: %s
    lists: {all_customers: %d, buyers: %d, abandoned_cart: %d}
`, dir, freeAddr(t), ctl, o.Shop, token, o.Secret, store.URL(), srv.URL(), brevoListAll, brevoListBuyers, brevoListAbandoned)
		path := filepath.Join(dir, "pipeline.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	logPath := filepath.Join(dir, "tajo.log")
	status := func(cfgPath string, until func(map[string]any) bool) map[string]any {
		t.Helper()
		var m map[string]any
		deadline := time.Now().Add(90 * time.Second)
		for {
			out, _, code := tajoCLI(t, "connectors", "status", "shopify", "-c", cfgPath, "--json")
			m = nil // Unmarshal into a map merges: start from nothing
			if code == 0 && json.Unmarshal([]byte(out), &m) == nil && until(m) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("status never got there: %v\n%s", m, tail(mustRead(t, logPath), 30))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	checked := func(m map[string]any) bool { c, _ := m["checks"].([]any); return len(c) == 2 }

	cfgPath := write("shpat_wrong_token")
	cmd := startTajo(t, cfgPath, logPath)
	m := status(cfgPath, checked)
	reason, _ := m["reason"].(string)
	if m["connected"] != false || !strings.Contains(reason, "shopify "+o.Shop+" failed") || !strings.Contains(reason, "401") {
		t.Fatalf("wrong token: connected %v, reason %q; want false with Shopify's 401", m["connected"], reason)
	}
	for _, c := range m["checks"].([]any) {
		c := c.(map[string]any)
		wantOK := c["service"] == "brevo"
		if c["ok"] != wantOK || c["time"] == "" {
			t.Errorf("check %v: want ok=%v with a time", c, wantOK)
		}
	}
	if strings.Contains(fmt.Sprint(m), "shpat_wrong_token") || strings.Contains(fmt.Sprint(m), "0000000000000000") {
		t.Errorf("a credential in the status: %v", m)
	}
	out, _, _ := tajoCLI(t, "connectors", "status", "shopify", "-c", cfgPath)
	if !strings.Contains(out, "connected   false (shopify "+o.Shop+" failed at") || !strings.Contains(out, "✓ brevo") || !strings.Contains(out, "✗ shopify "+o.Shop) {
		t.Errorf("status table with a wrong token:\n%s", out)
	}
	stopTajo(t, cmd, cmd.Process.Signal)

	// The right token: the backfill's answers make the latest check ok.
	cfgPath = write(o.AccessToken)
	cmd = startTajo(t, cfgPath, logPath)
	m = status(cfgPath, func(m map[string]any) bool { return m["connected"] == true })
	if _, has := m["reason"]; has || !checked(m) {
		t.Errorf("right token: %v", m)
	}
	// The backfilled customers reached Brevo: /status counts their
	// requests and shows Brevo's announced limit, nothing left waiting.
	var contacts map[string]any
	waitForStatus(t, ctl, dir, 60*time.Second, func(st map[string]any) bool {
		b := sinkStatus(st, "brevo")
		groups, _ := b["groups"].(map[string]any)
		contacts, _ = groups["contacts"].(map[string]any)
		return srv.ContactCount() >= 5 && b["contacts_waiting"] == 0.0 && b["imports_in_flight"] == 0.0 &&
			contacts["requests_last_minute"] != nil && contacts["requests_last_minute"].(float64) > 0
	})
	if announced, _ := contacts["brevo"].(map[string]any); announced["limit"] != 10.0 || contacts["limit_per_second"] != 10.0 || contacts["window_per_second"] != 8.0 {
		t.Errorf("/status brevo contacts group %v: want Brevo's announced limit of 10/s, and the sink's window of 8 (rate_share 0.8)", contacts)
	}
	stopTajo(t, cmd, cmd.Process.Signal)
	// No durations as floats in the log (took=2.006e+09 before).
	if logs := mustRead(t, logPath); !strings.Contains(logs, "shopify backfill done") || strings.Contains(logs, "e+0") {
		t.Errorf("backfill log lines:\n%s", grepLines(logs, "backfill done"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// waitForStatus polls GET /status on the control listener (with the
// token in dir/control.token) until ok holds for its body.
func waitForStatus(t *testing.T, ctl, dir string, d time.Duration, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dir, "control.token"))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	for deadline := time.Now().Add(d); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", "http://"+ctl+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			st = nil
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && ok(st) {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /status never got there: %v", st)
		}
	}
}

// sinkStatus is the section /status has for the sink name (nil: none).
func sinkStatus(st map[string]any, name string) map[string]any {
	sinks, _ := st["sinks"].([]any)
	for _, s := range sinks {
		if s, _ := s.(map[string]any); s["name"] == name {
			m, _ := s["status"].(map[string]any)
			return m
		}
	}
	return nil
}

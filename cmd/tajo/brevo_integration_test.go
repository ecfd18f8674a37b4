//go:build integration

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sources/shopify"
)

// Until the Shopify ingress lands, these tests feed normalized fixtures
// through the file source: file → embedded Kafka → transforms → brevo sink
// → simulator, with the real binary.

const (
	brevoListAll       = 1
	brevoListBuyers    = 2
	brevoListAbandoned = 3
	brevoShop          = "tajo-e2e.myshopify.com"
)

func newBrevoSim(t *testing.T, opts brevotest.Options) *brevotest.Server {
	t.Helper()
	opts.Lists = map[int64]string{brevoListAll: "All customers", brevoListBuyers: "Buyers", brevoListAbandoned: "Abandoned cart"}
	srv := brevotest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

// brevoConfig writes a file → Kafka → default transforms → brevo pipeline;
// the key comes from BREVO_API_KEY, as pipeline.yaml says.
func brevoConfig(t *testing.T, dir, baseURL, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
log: {level: info}
pipeline: {batch_size: 500, progress_interval: 1s, commit_interval: 200ms, retry: {initial: 50ms, max: 1s}}
sources:
  file: {path: events.jsonl, follow: true}
sinks:
  brevo:
    api_key: ${BREVO_API_KEY}
    base_url: %s
    timeout: 10s
    lists: {all_customers: %d, buyers: %d, abandoned_cart: %d}
    import_poll_interval: 50ms
%s`, dir, baseURL, brevoListAll, brevoListBuyers, brevoListAbandoned, extra)
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureLines normalizes Shopify webhook fixtures, in order, into
// envelope lines (no signature: the ingress is not under test here).
func fixtureLines(t *testing.T, topics ...string) []byte {
	t.Helper()
	var out []byte
	for i, topic := range topics {
		name := strings.NewReplacer("/", "-", "_", "-", ".", "-").Replace(topic) + ".json"
		body, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", name))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := shopify.Normalize(shopify.Webhook{Shop: brevoShop, Topic: topic, WebhookID: fmt.Sprintf("e2e-%d-%s", i, topic),
			APIVersion: "2026-01", ReceivedAt: time.Now().UTC(), Body: body})
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		out = append(out, line(t, ev)...)
	}
	return out
}

func line(t *testing.T, ev *schemas.Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// customerLine is a customers/update envelope for a synthetic customer.
func customerLine(t *testing.T, id int, email, first string) []byte {
	t.Helper()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Millisecond)
	data, _ := json.Marshal(map[string]any{"id": id, "email": email, "first_name": first, "updated_at": at})
	return line(t, &schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID("e2e", fmt.Sprint(id), email), Source: "shopify",
		Shop: brevoShop, Topic: "customers/update", Type: schemas.TypeCustomerUpdated, OccurredAt: at, ReceivedAt: at,
		Entity: schemas.Entity{Kind: schemas.KindCustomer, ID: fmt.Sprint(id)}, Data: data})
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// waitFor polls cond until it holds; on timeout it fails with the log tail.
func waitFor(t *testing.T, what, logPath string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("timed out waiting for %s\nlog tail:\n%s", what, tail(string(b), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deadLetters(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "dead-letter.jsonl"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func stopTajo(t *testing.T, cmd interface {
	Wait() error
}, signal func(os.Signal) error) {
	t.Helper()
	if err := signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("tajo did not stop cleanly: %v", err)
	}
}

// phase1 is every fixture that adds to Brevo, in the order a store would
// send them; phase2 the deletions.
var (
	brevoPhase1 = []string{"products/create", "products/update", "customers/create", "customers/update",
		"customers_email_marketing_consent/update", "customers_marketing_consent/update", "customers/enable", "customers/disable",
		"checkouts/create", "checkouts/update", "carts/create", "carts/update",
		"orders/create", "orders/paid", "orders/updated", "orders/partially_fulfilled", "orders/fulfilled", "orders/cancelled",
		"refunds/create", "fulfillments/create", "fulfillments/update", "inventory_levels/update", "inventory_levels/connect",
		"inventory_levels/disconnect", "inventory_items/update", "customers/data_request", "app/uninstalled", "shop/redact"}
	brevoPhase2 = []string{"orders/delete", "checkouts/delete", "products/delete", "customers/delete", "customers/redact"}
)

// sendTestOrders is for the fixture journeys: Shopify's sample order
// payloads are test orders (test: true), which sinks.brevo.test_orders
// skips by default, and these tests check how orders are mapped.
const sendTestOrders = "    test_orders: send\n"

func TestBrevoEndToEndFixtures(t *testing.T) {
	srv := newBrevoSim(t, brevotest.Options{})
	t.Setenv("BREVO_API_KEY", srv.APIKey())
	dir := t.TempDir()
	cfgPath := brevoConfig(t, dir, srv.URL(), sendTestOrders)
	logPath := filepath.Join(dir, "tajo.log")
	events := filepath.Join(dir, "events.jsonl")
	feed := fixtureLines(t, brevoPhase1...)
	feed = append(feed, customerLine(t, 42, "not-an-email", "Broken")...)
	appendFile(t, events, feed)
	cmd := startTajo(t, cfgPath, logPath)

	assertBrevoPhase1(t, srv, dir, logPath, false)

	// Deletions: customers/delete and customers/redact remove the contacts,
	// products/delete marks the product deleted.
	appendFile(t, events, fixtureLines(t, brevoPhase2...))
	assertBrevoPhase2(t, srv, logPath)
	stopTajo(t, cmd, cmd.Process.Signal)
}

// webhookRun is tajo run with the Shopify webhooks of brevoShop (signed
// with secret, no backfill) → Kafka → default transforms → the Brevo
// simulator.
type webhookRun struct {
	srv                *brevotest.Server
	dir, addr, logPath string
	url                string
	cmd                interface {
		Wait() error
	}
	signal func(os.Signal) error
}

// startWebhookRun starts one; extra is more configuration (a broker
// section).
func startWebhookRun(t *testing.T, secret, extra string) *webhookRun {
	t.Helper()
	srv := newBrevoSim(t, brevotest.Options{})
	t.Setenv("BREVO_API_KEY", srv.APIKey())
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := brevoConfig(t, dir, srv.URL(), extra+fmt.Sprintf(`connectors:
  shopify:
    api_secret: %s
    stores: [{shop_url: %s}]
    sync: {backfill: false, reconcile_every: 0}
`, secret, brevoShop))
	// The webhook source replaces the file source and needs the server.
	b, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(b), "server: {listen: \"\"}", fmt.Sprintf("server: {listen: %q}", addr), 1)
	cfg = strings.Replace(cfg, "  file: {path: events.jsonl, follow: true}", "  file: {enabled: false, path: events.jsonl}", 1)
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	logPath := filepath.Join(dir, "tajo.log")
	cmd := startTajo(t, cfgPath, logPath)
	url := "http://" + addr + "/webhooks/shopify"
	waitFor(t, "the webhook endpoint", logPath, 60*time.Second, func() bool {
		code, err := postWebhook(url, []byte("{}"), http.Header{})
		return err == nil && code == http.StatusUnauthorized
	})
	return &webhookRun{srv: srv, dir: dir, addr: addr, logPath: logPath, url: url, cmd: cmd, signal: cmd.Process.Signal}
}

// TestBrevoEndToEndSignedWebhooks is the same journey through the real
// ingress: every fixture posted to /webhooks/shopify with a valid
// signature, answered 200 only once on Kafka, then through the transforms
// into the simulated Brevo account.
func TestBrevoEndToEndSignedWebhooks(t *testing.T) {
	const secret = "e2e-secret"
	r := startWebhookRun(t, secret, sendTestOrders)
	srv, dir, logPath, url := r.srv, r.dir, r.logPath, r.url

	post := func(topics ...string) {
		for i, topic := range topics {
			name := strings.NewReplacer("/", "-", "_", "-", ".", "-").Replace(topic) + ".json"
			body, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", name))
			if err != nil {
				t.Fatal(err)
			}
			postSigned(t, url, topic, fmt.Sprintf("wh-%d-%s", i, topic), secret, body)
		}
	}
	post(brevoPhase1...)
	// A customer whose email Brevo refuses.
	broken := []byte(`{"id":42,"email":"not-an-email","first_name":"Broken","updated_at":"2026-11-01T00:00:00Z","created_at":"2026-11-01T00:00:00Z"}`)
	postSigned(t, url, "customers/update", "wh-broken", secret, broken)

	assertBrevoPhase1(t, srv, dir, logPath, true)
	post(brevoPhase2...)
	assertBrevoPhase2(t, srv, logPath)
	stopTajo(t, r.cmd, r.signal)
}

// postSigned posts one delivery as Shopify signs it and requires a 200,
// which tajo answers only once the event is on Kafka.
func postSigned(t *testing.T, url, topic, id, secret string, body []byte) {
	t.Helper()
	h := http.Header{}
	h.Set(shopify.HeaderShopDomain, brevoShop)
	h.Set(shopify.HeaderTopic, topic)
	h.Set(shopify.HeaderWebhookID, id)
	h.Set(shopify.HeaderAPIVersion, "2026-04")
	h.Set(shopify.HeaderHMAC, shopify.Sign(body, secret))
	code, err := postWebhook(url, body, h)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s: answered %d, %v", topic, code, err)
	}
}

// assertBrevoPhase1 checks, field by field, what the first fixtures made of
// the simulated Brevo account.
func assertBrevoPhase1(t *testing.T, srv *brevotest.Server, dir, logPath string, withVariants bool) {
	t.Helper()
	waitFor(t, "the fixtures to reach the simulator", logPath, 60*time.Second, func() bool {
		return len(srv.Events()) >= 6 && len(srv.Orders()) >= 1 && len(deadLetters(t, dir)) >= 1 && len(srv.Products()) >= 1
	})
	// Contacts, field by field.
	if n := len(srv.Contacts()); n != 2 {
		t.Fatalf("%d contacts, want bob and john", n)
	}
	bob := srv.Contact("bob@biller.com")
	if bob == nil || bob.ExtID != "706405506930370084" || bob.Attributes["FIRSTNAME"] != "Bob" || bob.Attributes["LASTNAME"] != "Biller" ||
		bob.EmailBlacklisted || bob.SMSBlacklisted || fmt.Sprint(bob.ListIDs) != "[1]" {
		t.Errorf("bob = %+v", bob)
	}
	john := srv.Contact("john@example.com")
	if john == nil || john.ExtID != "115310627314723954" || john.Attributes["FIRSTNAME"] != "John" || john.Attributes["LASTNAME"] != "Smith" ||
		john.Attributes["LANGUAGE"] != "en" || john.EmailBlacklisted || fmt.Sprint(john.ListIDs) != "[1 2]" {
		t.Errorf("john = %+v (in all_customers and buyers; out of abandoned_cart since he ordered)", john)
	}
	if ig := srv.IgnoredValues(); len(ig) != 0 {
		t.Errorf("values Brevo would drop for their type: %v", ig)
	}
	// Events: bob's welcome, then john's checkouts, order milestones and
	// the refund (its buyer from the order ledger), each carrying its
	// event id.
	waitFor(t, "order_refunded", logPath, 30*time.Second, func() bool {
		evs := srv.Events()
		return len(evs) > 0 && evs[len(evs)-1].Name == "order_refunded"
	})
	var names []string
	for _, e := range srv.Events() {
		names = append(names, e.Name)
		who := "john@example.com"
		if e.Name == "customer_created" {
			who = "bob@biller.com"
		}
		if e.Identifiers["email_id"] != who || e.EventProperties["event_id"] == nil || e.EventProperties["shop"] != brevoShop || e.Date == "" {
			t.Errorf("event %s = %+v", e.Name, e)
		}
	}
	if got, want := strings.Join(names, ","), "customer_created,checkout_created,checkout_updated,order_placed,order_paid,order_fulfilled,order_cancelled,order_refunded"; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
	// Orders: live (never historical); the statuses of one batch collapse
	// to the last (the fixtures' order is cancelled).
	orders := srv.Orders()
	if last := orders[len(orders)-1]; last.Status != "cancelled" {
		t.Errorf("last order status = %q", last.Status)
	}
	for _, o := range orders {
		if o.ID != "820982911946154508" || o.StoreID != brevoShop || o.Amount != 414.95 || len(o.Products) != 5 || o.Historical ||
			o.Identifiers["ext_id"] != "115310627314723954" || o.Products[0].ProductID != "788032119674292922" || o.Billing["countryCode"] != "US" {
			t.Errorf("order = %+v", o)
		}
	}
	// Catalogue: the product, and with connectors.shopify (whose
	// sync.products.include_variants is true by default) its variants.
	var p brevotest.Product
	var variants int
	for _, q := range srv.Products() {
		switch {
		case q.ID == "788032119674292922":
			p = q
		case q.ParentID == "788032119674292922" && fmt.Sprint(q.Categories) == "[type-shirts]":
			variants++
		default:
			t.Errorf("product %+v", q)
		}
	}
	if p.Name != "Example T-Shirt" || fmt.Sprint(p.Categories) != "[type-shirts]" ||
		p.URL != "https://"+brevoShop+"/products/example-t-shirt" || p.IsDeleted {
		t.Errorf("product = %+v", p)
	}
	if want := map[bool]int{false: 0, true: 2}[withVariants]; variants != want {
		t.Errorf("%d variants as products, want %d", variants, want)
	}
	if c := srv.Categories(); len(c) != 1 || c[0].ID != "type-shirts" || c[0].Name != "Shirts" {
		t.Errorf("categories = %+v", c)
	}
	// The invalid email is in the error history with Brevo's message.
	dl := deadLetters(t, dir)
	if len(dl) != 1 || dl[0]["stage"] != "sink:brevo" || dl[0]["code"] != "invalid_parameter" ||
		!strings.Contains(fmt.Sprint(dl[0]["reason"]), "Invalid email address") {
		t.Errorf("dead letters = %v", dl)
	}

}

// assertBrevoPhase2 waits for the deletions: customers/delete and
// customers/redact remove the contacts, products/delete marks the product
// deleted.
func assertBrevoPhase2(t *testing.T, srv *brevotest.Server, logPath string) {
	t.Helper()
	waitFor(t, "the deletions", logPath, 30*time.Second, func() bool {
		for _, p := range srv.Products() {
			if p.ID == "788032119674292922" {
				return len(srv.Contacts()) == 0 && p.IsDeleted
			}
		}
		return false
	})
}

// TestBrevoRevokedKeyStopsAndResumes: a key revoked mid-stream stops the
// pipeline with a message naming the key; nothing it had not delivered is
// committed, so after the key is fixed a restart delivers everything.
func TestBrevoRevokedKeyStopsAndResumes(t *testing.T) {
	const n = 3000
	oldKey, newKey := "xkeysib-e2e-0000000000000000-OLD1", "xkeysib-e2e-1111111111111111-NEW2"
	srv := newBrevoSim(t, brevotest.Options{APIKey: oldKey, Latency: 5 * time.Millisecond})
	t.Setenv("BREVO_API_KEY", oldKey)
	dir := t.TempDir()
	cfgPath := brevoConfig(t, dir, srv.URL(), "")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(mustRead(t, cfgPath), "batch_size: 500", "batch_size: 50", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	feed := func(lo, hi int) {
		var b []byte
		for i := lo; i <= hi; i++ {
			b = append(b, customerLine(t, i, fmt.Sprintf("k%d@example.com", i), "K")...)
		}
		appendFile(t, filepath.Join(dir, "events.jsonl"), b)
	}
	// A first part, then the rest once the key is revoked: the sink holds
	// thousands of records at once and would otherwise be done with all
	// of them before the revocation.
	feed(1, n/3)
	logPath := filepath.Join(dir, "tajo.log")
	cmd := startTajo(t, cfgPath, logPath)
	waitFor(t, "the first contacts", logPath, 60*time.Second, func() bool { return len(srv.Contacts()) >= 200 })
	srv.RevokeKey()
	feed(n/3+1, n)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("tajo exited 0 after its key was revoked")
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("tajo did not stop after its key was revoked\n%s", tail(mustRead(t, logPath), 20))
	}
	logs := mustRead(t, logPath)
	if !strings.Contains(logs, "refused the API key ending in …OLD1") || strings.Contains(logs, "0000000000000000") {
		t.Fatalf("the stop message must name the key by its last characters:\n%s", tail(logs, 20))
	}
	if dl := deadLetters(t, dir); len(dl) != 0 {
		t.Fatalf("a 401 must never dead-letter records: %v", dl[0])
	}
	before := len(srv.Contacts())
	t.Logf("stopped with %d of %d contacts delivered", before, n)
	if before == n {
		t.Fatal("everything was delivered before the revocation: the test proves nothing")
	}

	srv.SetKey(newKey)
	t.Setenv("BREVO_API_KEY", newKey)
	cmd = startTajo(t, cfgPath, logPath)
	waitFor(t, "every contact after the restart", logPath, 120*time.Second, func() bool { return len(srv.Contacts()) >= n })
	stopTajo(t, cmd, cmd.Process.Signal)
	seen := map[string]int{}
	for _, c := range srv.Contacts() {
		seen[c.ExtID]++
	}
	for i := 1; i <= n; i++ {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("contact %d present %d times", i, seen[fmt.Sprint(i)])
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBrevoFlood: 50,000 customer events (BREVO_FLOOD overrides) through
// tajo run against 10 requests/s and 20% injected 5xx: every contact once,
// no second over the limit.
func TestBrevoFlood(t *testing.T) {
	n := 50_000
	if v, err := fmt.Sscan(os.Getenv("BREVO_FLOOD"), &n); v != 1 || err != nil {
		n = 50_000
	}
	const limit = 10
	srv := newBrevoSim(t, brevotest.Options{RateLimit: brevotest.Limit{Requests: limit, Per: time.Second}, FaultRate: 0.2, Seed: 7})
	t.Setenv("BREVO_API_KEY", srv.APIKey())
	dir := t.TempDir()
	cfgPath := brevoConfig(t, dir, srv.URL(), "    rate_limit: 10\n")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(mustRead(t, cfgPath), "batch_size: 500", "batch_size: 2000, batch_wait: 200ms, max_in_flight: 20000", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var feed []byte
	for i := 1; i <= n; i++ {
		feed = append(feed, customerLine(t, i, fmt.Sprintf("flood.%d@example.com", i), fmt.Sprintf("F%d", i))...)
	}
	appendFile(t, filepath.Join(dir, "events.jsonl"), feed)
	logPath := filepath.Join(dir, "tajo.log")
	start := time.Now()
	cmd := startTajo(t, cfgPath, logPath)
	waitFor(t, "every contact", logPath, 10*time.Minute, func() bool { return len(srv.Contacts()) >= n })
	took := time.Since(start)
	stopTajo(t, cmd, cmd.Process.Signal)

	seen := map[string]int{}
	for _, c := range srv.Contacts() {
		seen[c.ExtID]++
	}
	for i := 1; i <= n; i++ {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("contact %d present %d times", i, seen[fmt.Sprint(i)])
		}
	}
	total := 0
	for _, c := range srv.RequestCounts() {
		total += c
	}
	t.Logf("flood through tajo run: %d events in %s (from process start) = %.0f events/s; %d requests = %.4f per event (%d injected 5xx, %d 429); max %d requests in any second, limit %d; by route %v",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), total, float64(total)/float64(n),
		srv.StatusCount(500)+srv.StatusCount(502)+srv.StatusCount(503), srv.StatusCount(429), srv.MaxRate(""), limit, srv.RequestCounts())
	if m := srv.MaxRate(""); m > limit {
		t.Fatalf("%d requests within one second, over the limit of %d", m, limit)
	}
}

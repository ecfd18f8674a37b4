//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// The first acceptance item: the seed's configuration blocks,
// merged into one file, validate with the inventory warning only, and a run
// against the simulators shows each of the seed's effects in Brevo.

const seedShop = "your-store.myshopify.com" // the seed's shop_url

// seedSite is where a seed run lives: what the seed cannot know.
type seedSite struct {
	dataDir, listen, kafka, adminURL, brevoURL string
	// pluginsDir, when set, is plugins.dir (the in-process run starts the
	// Shopify plugin from there).
	pluginsDir string
}

// seedConfig is the seed's configuration (../shared/seed, 配置) with its
// blocks merged into one pipeline.yaml, in its own words: 基础设置
// (connectors.shopify with sync and lists), 自定义属性映射 (field_mapping),
// 产品同步 (sync.products with its filter), 库存追踪 (sync.inventory, in
// place of 基础设置's `inventory: false # Optional`). The rest is not the
// seed's: the listeners, data_dir and the simulators' addresses; the
// credentials come from the environment, as the seed's install step
// passes them (--api-key $SHOPIFY_API_KEY --api-secret …); the chain is
// listed as the shipped pipeline.yaml lists it, the case where the product
// filter once did not apply.
func seedConfig(apiVersion string, s seedSite) string {
	plugins := ""
	if s.pluginsDir != "" {
		plugins = fmt.Sprintf("plugins: {dir: %s}\n", s.pluginsDir)
	}
	return fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: ""}
log: {level: info}
broker: {embedded: {listen: %q}}
pipeline: {progress_interval: 1s, commit_interval: 200ms, retry: {initial: 50ms, max: 1s}}
%s
connectors:
  shopify:
    enabled: true
    shop_url: "your-store.myshopify.com"
    api_version: %q

    # Data sync options
    sync:
      customers: true
      orders: true
      products:
        enabled: true
        include_variants: true
        include_images: true
        categories_as_tags: true

        # Filter products
        filter:
          status: active
          exclude_tags: ["hidden", "wholesale-only"]
      carts: true
      inventory:
        enabled: true
        low_stock_threshold: 10
        out_of_stock_events: true
      bulk_poll_interval: 100ms

    # List assignment
    lists:
      all_customers: 5
      buyers: 6
      abandoned_cart: 7

    api_key: ${SHOPIFY_API_KEY}
    api_secret: ${SHOPIFY_API_SECRET}
    access_token: ${SHOPIFY_ACCESS_TOKEN}
    admin_url: %s

field_mapping:
  # Standard fields
  email: email
  first_name: FIRSTNAME
  last_name: LASTNAME
  phone: SMS

  # E-commerce metrics
  orders_count: ORDER_COUNT
  total_spent: TOTAL_SPENT
  last_order_date: LAST_ORDER_DATE

  # Custom fields
  customer_type: CUSTOMER_TYPE
  preferred_language: LANGUAGE
  loyalty_tier: VIP_TIER

  # Computed fields
  average_order_value: AOV
  days_since_last_order: RECENCY

transforms:
  stages:
    - {name: guard, type: guard}
    - {name: aggregates, type: aggregates}
    - {name: contact, type: field_mapping}

sinks:
  brevo:
    api_key: ${BREVO_API_KEY}
    base_url: %s
    import_poll_interval: 50ms
`, s.dataDir, s.listen, s.kafka, plugins, apiVersion, s.adminURL, s.brevoURL)
}

// seedSimulators starts a small simulated store named like the seed's and
// a Brevo account with the seed's lists 5, 6 and 7, and exports the
// credentials seedConfig reads.
func seedSimulators(t *testing.T) (*shopifytest.Store, *brevotest.Server) {
	t.Helper()
	store := shopifytest.New(shopifytest.Options{Shop: seedShop, APIKey: "e5b7a0c1d2f3e4a5b6c7d8e9f0a1b2c3",
		Customers: 6, Orders: 4, Products: 2, Checkouts: 1, BulkPolls: 1})
	t.Cleanup(store.Close)
	srv := brevotest.New(brevotest.Options{Lenient: true, Lists: map[int64]string{5: "All customers", 6: "Buyers", 7: "Abandoned cart"}})
	t.Cleanup(srv.Close)
	o := store.Options()
	t.Setenv("SHOPIFY_API_KEY", o.APIKey)
	t.Setenv("SHOPIFY_API_SECRET", o.Secret)
	t.Setenv("SHOPIFY_ACCESS_TOKEN", o.AccessToken)
	t.Setenv("BREVO_API_KEY", srv.APIKey())
	return store, srv
}

// waitBackfilled waits until every simulated customer with an email is a
// Brevo contact, so the webhooks that follow find them known.
func waitBackfilled(t *testing.T, store *shopifytest.Store, srv *brevotest.Server, logPath string) []string {
	t.Helper()
	var emails []string
	for i := range store.Options().Customers {
		if e := store.CustomerAt(i).Email; e != "" {
			emails = append(emails, e)
		}
	}
	if len(emails) < 2 {
		t.Fatalf("the simulated store has %d customers with an email; the test needs 2", len(emails))
	}
	waitFor(t, "the backfilled customers in Brevo", logPath, 90*time.Second, func() bool {
		for _, e := range emails {
			if srv.Contact(e) == nil {
				return false
			}
		}
		return true
	})
	return emails
}

// sendSeedWebhook delivers body as the simulated store does: signed with
// its secret, with every header Shopify sends.
func sendSeedWebhook(t *testing.T, store *shopifytest.Store, url, topic string, body []byte, logPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := store.SendWebhook(ctx, url, topic, body)
	if err != nil || !res.OK() {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("%s: %v %v\n%s", topic, res.Statuses, err, tail(string(b), 30))
	}
}

// placedOrder makes Shopify's sample order (a test order, voided and
// cancelled, which counts nowhere) a real one of buyer with id id.
func placedOrder(id, buyer string) func(map[string]any) {
	return func(m map[string]any) {
		m["id"], m["test"], m["email"], m["contact_email"] = json.Number(id), false, buyer, buyer
		m["cancelled_at"], m["cancel_reason"], m["financial_status"] = nil, nil, "paid"
		m["customer"].(map[string]any)["email"] = buyer
	}
}

func eventsNamed(srv *brevotest.Server, name string) []brevotest.Event {
	var out []brevotest.Event
	for _, e := range srv.Events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func attr(srv *brevotest.Server, email, name string) string {
	if c := srv.Contact(email); c != nil && c.Attributes[name] != nil {
		return fmt.Sprint(c.Attributes[name])
	}
	return ""
}

// TestSeedSettingsAcceptance: validate on the merged seed blocks, then the
// real binary against the Shopify and Brevo simulators. RECENCY, which
// needs a simulated day, is TestSeedRecencySweepAcceptance.
func TestSeedSettingsAcceptance(t *testing.T) {
	store, srv := seedSimulators(t)
	dir := t.TempDir()
	r := newShopifyRun(t, dir)
	site := seedSite{dataDir: dir, listen: r.http, kafka: r.kafka, adminURL: store.URL(), brevoURL: srv.URL()}
	path := filepath.Join(dir, "pipeline.yaml")
	write := func(cfg string) {
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// As the seed writes it, api_version 2024-01 is refused, and only it.
	write(seedConfig("2024-01", site))
	stdout, stderr, code := tajoCLI(t, "validate", "-c", path)
	wantRefusal := `connectors.shopify.api_version: Shopify stopped serving API version 2024-01 on 2025-01-01: requests fall forward to the oldest version it serves, in a shape tajo does not expect (write api_version: "` +
		admin.DefaultAPIVersion + `" (tajo's pinned default), or leave it out)`
	if code != 1 || !strings.Contains(stderr, wantRefusal) || strings.Count(stderr, "connectors.") != 1 || stdout != "" {
		t.Fatalf("validate with the seed's api_version: exit %d, want 1 with only\n%s\nstdout: %s\nstderr: %s", code, wantRefusal, stdout, stderr)
	}

	// With tajo's pinned version: ok, the inventory alert keys' warnings
	// the only remark.
	write(seedConfig(admin.DefaultAPIVersion, site))
	stdout, stderr, code = tajoCLI(t, "validate", "-c", path)
	warnings := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 0 || stdout != path+": ok, with 2 warnings\n" || len(warnings) != 2 ||
		!strings.HasPrefix(warnings[0], "warning: connectors.shopify.sync.inventory.low_stock_threshold: accepted but not acted on yet") ||
		!strings.HasPrefix(warnings[1], "warning: connectors.shopify.sync.inventory.out_of_stock_events: accepted but not acted on yet") {
		t.Fatalf("validate with api_version %s: exit %d\nstdout: %s\nstderr: %s", admin.DefaultAPIVersion, code, stdout, stderr)
	}

	// The seed's connection test (连接测试), api_key's app included.
	stdout, stderr, code = tajoCLI(t, "connectors", "test", "shopify", "-c", path)
	for _, want := range []string{"✓ API version served (" + seedShop + ": " + admin.DefaultAPIVersion + ")", "✓ API connection successful", "✓ Products accessible", "✓ Customers readable", "✓ Orders readable",
		"✓ Token of the app api_key names (" + seedShop + ": api_key " + store.Options().APIKey + ")"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("connectors test: exit %d, want %q\nstdout: %s\nstderr: %s", code, want, stdout, stderr)
		}
	}

	r.start(path)
	backfilled := waitBackfilled(t, store, srv, r.logPath)
	send := func(topic string, body []byte) { sendSeedWebhook(t, store, r.webhookURL(), topic, body, r.logPath) }
	now := time.Now().UTC().Format(time.RFC3339)

	// A customers/create of a backfilled customer (its webhook came after
	// the backfill read it) is an update: no customer_created.
	var known *schemas.Customer
	for i := range store.Options().Customers {
		if c := store.CustomerAt(i); c.Email != "" {
			known = c
			break
		}
	}
	send("customers/create", webhookFixture(t, "customers-create.json", func(m map[string]any) {
		m["id"], m["email"], m["first_name"], m["updated_at"] = json.Number(known.ID.String()), known.Email, "Returning", now
	}))
	// A new customer. The fixtures' ids are the simulated store's first
	// ones: the new customer and order get ids of their own.
	const newEmail, newID = "bob@biller.com", "706405506930379999"
	send("customers/create", webhookFixture(t, "customers-create.json", func(m map[string]any) { m["id"] = json.Number(newID) }))
	// An order of a new buyer.
	const buyerEmail, orderID = "buyer@example.com", "820982911946159999"
	send("orders/create", webhookFixture(t, "orders-create.json", placedOrder(orderID, buyerEmail)))
	// The hidden draft product and an active one for wholesale only (the
	// filter's two keys), then an active one with two variants and two
	// images (the second one the second variant's).
	const activeID, hiddenID, wholesaleID = "788032119674292922", "788032119674299999", "788032119674298888"
	filtered := map[string][]string{
		hiddenID:    {"642667041472719991", "757650484644209992"},
		wholesaleID: {"642667041472718881", "757650484644208882"},
	}
	hidden := func(id, status, tags string) []byte {
		return webhookFixture(t, "products-create.json", func(m map[string]any) {
			m["id"], m["status"], m["tags"], m["title"] = json.Number(id), status, tags, "Wholesale only"
			for i, v := range m["variants"].([]any) {
				v.(map[string]any)["id"], v.(map[string]any)["product_id"] = json.Number(filtered[id][i]), json.Number(id)
			}
		})
	}
	send("products/create", hidden(hiddenID, "draft", "hidden, wholesale-only"))
	send("products/create", hidden(wholesaleID, "active", "wholesale-only"))
	const cover, second = "https://cdn.shopify.com/s/files/1/tee-front.jpg", "https://cdn.shopify.com/s/files/1/tee-blue.jpg"
	send("products/create", webhookFixture(t, "products-create.json", func(m map[string]any) {
		img := func(id, pos int, src string, variants ...any) map[string]any {
			return map[string]any{"id": id, "product_id": json.Number(activeID), "position": pos, "src": src, "variant_ids": append([]any{}, variants...)}
		}
		v2 := m["variants"].([]any)[1].(map[string]any)["id"]
		m["images"] = []any{img(1001, 1, cover), img(1002, 2, second, v2)}
		m["image"] = img(1001, 1, cover)
	}))

	waitFor(t, "the known customer's update", r.logPath, 30*time.Second, func() bool { return attr(srv, known.Email, "FIRSTNAME") == "Returning" })
	waitFor(t, "the new customer", r.logPath, 30*time.Second, func() bool { return srv.Contact(newEmail) != nil })
	waitFor(t, "the buyer", r.logPath, 30*time.Second, func() bool { return srv.Contact(buyerEmail) != nil })
	waitFor(t, "the active product in Brevo", r.logPath, 30*time.Second, func() bool {
		return slices.ContainsFunc(srv.Products(), func(p brevotest.Product) bool { return p.ID == activeID })
	})

	// New contacts in list 5, the buyer in 5 and 6.
	if got := srv.Contact(newEmail).ListIDs; !slices.Equal(got, []int64{5}) {
		t.Errorf("the new customer is in lists %v, want [5]", got)
	}
	if got := srv.Contact(buyerEmail).ListIDs; !slices.Equal(got, []int64{5, 6}) {
		t.Errorf("the buyer is in lists %v, want [5 6]", got)
	}
	// customer_created for the new customer, none for a backfilled one
	// (whose customers/create came first, in the same partition).
	waitFor(t, "customer_created", r.logPath, 30*time.Second, func() bool {
		return slices.ContainsFunc(eventsNamed(srv, "customer_created"), func(e brevotest.Event) bool { return e.Identifiers["email_id"] == newEmail })
	})
	for _, e := range eventsNamed(srv, "customer_created") {
		if who := fmt.Sprint(e.Identifiers["email_id"]); who != newEmail {
			t.Errorf("customer_created for %s (backfilled: %v), want only %s", who, slices.Contains(backfilled, who), newEmail)
		}
	}
	// The draft product tagged hidden is not in the catalogue, nor the
	// active one tagged wholesale-only, nor their variants (they came
	// before the active product, in one partition: they were handled); the
	// active one is, with its tags as categories, its variants as products
	// with parentId, and their images.
	byID := map[string]brevotest.Product{}
	for _, p := range srv.Products() {
		byID[p.ID] = p
	}
	for id, variants := range filtered {
		for _, id := range append([]string{id}, variants...) {
			if p, ok := byID[id]; ok {
				t.Errorf("a product the seed's filter excludes reached Brevo: %+v", p)
			}
		}
	}
	if p := byID[activeID]; !slices.Equal(p.Categories, []string{"tag-example", "tag-mens", "tag-t-shirt"}) || p.ImageURL != cover {
		t.Errorf("the active product: categories %v (want its tags), imageUrl %q (want the cover)", p.Categories, p.ImageURL)
	}
	for id, img := range map[string]string{"642667041472713922": cover, "757650484644203962": second} {
		if v, ok := byID[id]; !ok || v.ParentID != activeID || v.ImageURL != img {
			t.Errorf("variant %s: %+v, want a product with parentId %s and imageUrl %s", id, v, activeID, img)
		}
	}

	// A refund names no buyer: order_refunded reaches the buyer the order
	// ledger names, and the buyer's TOTAL_SPENT drops by the refunded 85.00.
	spent := attr(srv, buyerEmail, "TOTAL_SPENT")
	send("refunds/create", webhookFixture(t, "refunds-create.json", func(m map[string]any) { m["order_id"] = json.Number(orderID) }))
	waitFor(t, "order_refunded for the buyer", r.logPath, 30*time.Second, func() bool {
		ev := eventsNamed(srv, "order_refunded")
		return len(ev) == 1 && ev[0].Identifiers["email_id"] == buyerEmail
	})
	if got := attr(srv, buyerEmail, "TOTAL_SPENT"); spent != "404.95" || got != "319.95" {
		t.Errorf("the buyer's TOTAL_SPENT %s before the refund, %s after: want 404.95, then 319.95", spent, got)
	}

	// TAGS from the tag topic Shopify sends now (customer.tags_added; the
	// customer payloads carry no tags since 2025-01).
	if got := attr(srv, newEmail, "TAGS"); strings.Contains(got, "vip") {
		t.Fatalf("TAGS %q before the tag webhook", got)
	}
	tags, _ := json.Marshal(map[string]any{"customerId": "gid://shopify/Customer/" + newID, "tags": []string{"vip"}, "occurredAt": now})
	send("customer.tags_added", tags)
	waitFor(t, "TAGS from customer.tags_added", r.logPath, 30*time.Second, func() bool { return attr(srv, newEmail, "TAGS") == "vip" })
	r.stop()
}

// TestSeedRecencySweepAcceptance: RECENCY moved by the daily sweep on
// simulated time. tajo run has no simulated clock, so this one part runs
// in-process: the same seed configuration through pipeline.NewRunner with
// pipeline.WithClock (a pipelinetest.Clock), the Shopify connector still
// the real plugin process (tajo plugin shopify, from plugins.dir), against
// the same simulators.
func TestSeedRecencySweepAcceptance(t *testing.T) {
	store, srv := seedSimulators(t)
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o700); err != nil {
		t.Fatal(err)
	}
	// The runner starts a built-in plugin as its own executable, here the
	// test binary: plugins.dir names tajo instead.
	if err := os.WriteFile(filepath.Join(plugins, "shopify"), []byte("#!/bin/sh\nexec "+tajoBin+" plugin shopify\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	site := seedSite{dataDir: filepath.Join(dir, "data"), listen: freeAddr(t), kafka: "127.0.0.1:0", adminURL: store.URL(), brevoURL: srv.URL(), pluginsDir: plugins}
	path := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(path, []byte(seedConfig(admin.DefaultAPIVersion, site)), 0o600); err != nil {
		t.Fatal(err)
	}
	var loadErr bytes.Buffer
	cfg, ok := loadRunConfig(path, false, &loadErr)
	if !ok {
		t.Fatal(loadErr.String())
	}
	logPath := filepath.Join(dir, "tajo.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	clock := pipelinetest.NewClock(time.Now().UTC())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- pipeline.NewRunner(cfg, newLogger(cfg.Log, logf), pipeline.WithClock(clock)).Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, "the webhook listener", logPath, 60*time.Second, func() bool {
		resp, err := http.Get("http://" + site.listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	waitBackfilled(t, store, srv, logPath)

	// A buyer whose order is 3 days old (on the simulated clock), beside
	// the backfilled buyers (orders of 2025).
	const buyer = "recency@example.com"
	placed := clock.Now().Add(-72 * time.Hour).Format(time.RFC3339)
	sendSeedWebhook(t, store, "http://"+site.listen+"/webhooks/shopify", "orders/create", webhookFixture(t, "orders-create.json", func(m map[string]any) {
		placedOrder("820982911946158888", buyer)(m) // not one of the store's ids
		m["created_at"], m["updated_at"], m["processed_at"] = placed, placed, placed
	}), logPath)
	var old string // a backfilled buyer
	for j := range store.Options().Orders {
		if c := store.OrderAt(j).Customer; c != nil && c.Email != "" {
			old = c.Email
			break
		}
	}
	waitFor(t, "RECENCY 3 for the buyer, its order_placed, and the backfilled buyer's RECENCY", logPath, 60*time.Second, func() bool {
		return attr(srv, buyer, "RECENCY") == "3" && attr(srv, old, "RECENCY") != "" &&
			slices.ContainsFunc(eventsNamed(srv, "order_placed"), func(e brevotest.Event) bool { return e.Identifiers["email_id"] == buyer })
	})
	before, _ := strconv.Atoi(attr(srv, old, "RECENCY"))
	events := len(srv.Events())

	clock.Add(24 * time.Hour)
	waitFor(t, "RECENCY moved by the daily sweep", logPath, 60*time.Second, func() bool {
		return attr(srv, buyer, "RECENCY") == "4" && attr(srv, old, "RECENCY") == strconv.Itoa(before+1)
	})
	if n := len(srv.Events()); n != events {
		t.Errorf("the sweep sent %d custom events; it only updates contacts", n-events)
	}
	if got := srv.Contact(buyer).ListIDs; !slices.Equal(got, []int64{5, 6}) {
		t.Errorf("after the sweep the buyer is in lists %v, want [5 6]", got)
	}
}

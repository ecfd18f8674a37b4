//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func simConnector(stores ...*shopifytest.Store) string {
	s := "enabled: true\nstores:\n"
	for _, st := range stores {
		o := st.Options()
		s += fmt.Sprintf("  - {shop_url: %s, access_token: %s, api_secret: %s, admin_url: %q}\n", o.Shop, o.AccessToken, o.Secret, st.URL())
	}
	return s
}

// TestShopifyBackfillLarge backfills a simulated store of 100,000
// customers and 200,000 orders through bulk operations into Kafka, and
// reports the rate and the peak resident memory of tajo and of the plugin.
func TestShopifyBackfillLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large backfill")
	}
	const customers, orders, products = 100_000, 200_000, 100
	adminURL := startSimulator(t, "-shop", "big.myshopify.com", "-customers", fmt.Sprint(customers), "-orders", fmt.Sprint(orders),
		"-products", fmt.Sprint(products), "-checkouts", "0", "-token", "shpat_big", "-secret", "big-secret")
	sim := shopifytest.NewStore(shopifytest.Options{Shop: "big.myshopify.com", Customers: customers, Orders: orders, Products: products})
	start := time.Now()
	r := startShopify(t, t.TempDir(), fmt.Sprintf(`enabled: true
stores:
  - {shop_url: big.myshopify.com, access_token: shpat_big, api_secret: big-secret, admin_url: %q}
sync: {carts: false, reconcile_every: 0, bulk_poll_interval: 50ms}`, adminURL))
	pluginPid := 0
	var hostPeak, pluginPeak, hostThird, pluginThird float64
	deadline := time.Now().Add(100 * time.Second)
	for {
		if pluginPid == 0 {
			pluginPid = r.pluginPid()
		}
		n := r.kafkaCount()
		hostPeak, pluginPeak = max(hostPeak, peakRSS(r.cmd.Process.Pid)), max(pluginPeak, peakRSS(pluginPid))
		if n < (customers+orders+products)/3 {
			// Flat memory: the peak after a third of the records is
			// the peak at the end.
			hostThird, pluginThird = hostPeak, pluginPeak
		}
		if n >= customers+orders+products {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records on Kafka after %s\n%s", n, customers+orders+products, time.Since(start), r.logTail())
		}
		time.Sleep(250 * time.Millisecond)
	}
	took := time.Since(start)
	hostPeak, pluginPeak = max(hostPeak, peakRSS(r.cmd.Process.Pid)), max(pluginPeak, peakRSS(pluginPid))

	seen := map[string]map[string]bool{}
	msgs := 0
	r.kafkaScan(func(_ int, key, value []byte) {
		msgs++
		var ev struct {
			Source string         `json:"source"`
			Entity schemas.Entity `json:"entity"`
		}
		if err := json.Unmarshal(value, &ev); err != nil || string(key) != "big.myshopify.com" || ev.Source != shopify.SourceBackfill {
			t.Fatalf("unexpected message %s: %.200s (%v)", key, value, err)
		}
		if seen[ev.Entity.Kind] == nil {
			seen[ev.Entity.Kind] = map[string]bool{}
		}
		seen[ev.Entity.Kind][ev.Entity.ID] = true
	})
	for kind, n := range map[string]int{schemas.KindCustomer: customers, schemas.KindOrder: orders, schemas.KindProduct: products} {
		if len(seen[kind]) != n {
			t.Errorf("%d distinct %s on Kafka, want %d", len(seen[kind]), kind, n)
		}
	}
	// Exact 64-bit ids, checked against the store (the same deterministic
	// generator as the simulator process).
	for _, i := range []int{0, customers / 2, customers - 1} {
		if id := sim.CustomerAt(i).ID.String(); !seen[schemas.KindCustomer][id] {
			t.Errorf("customer %d (id %s) missing", i, id)
		}
	}
	for _, j := range []int{0, orders / 2, orders - 1} {
		if id := sim.OrderAt(j).ID.String(); !seen[schemas.KindOrder][id] {
			t.Errorf("order %d (id %s) missing", j, id)
		}
	}
	total := customers + orders + products
	t.Logf("backfill of %d records (%d customers, %d orders, %d products) on Kafka in %s: %.0f records/s; peak RSS tajo %.0f MiB, plugin %.0f MiB (after the first third: %.0f, %.0f); %d messages read back",
		total, customers, orders, products, took.Round(time.Millisecond), float64(total)/took.Seconds(), hostPeak, pluginPeak, hostThird, pluginThird, msgs)
	if pluginPeak > 2*pluginThird+32 || hostPeak > 2*hostThird+64 {
		t.Errorf("memory grew with the backfill: tajo %.0f → %.0f MiB, plugin %.0f → %.0f MiB", hostThird, hostPeak, pluginThird, pluginPeak)
	}
	if msgs != total {
		t.Logf("%d duplicates (a bulk file re-read after a retry)", msgs-total)
	}
	r.stop()
	os.RemoveAll(filepath.Join(r.dir, "broker"))
}

// TestShopifyTwoStores runs two simulated stores on one tajo: both
// backfill at once, then each sends webhooks; every event carries its own
// shop (and is keyed by it), and each store's events keep their order.
func TestShopifyTwoStores(t *testing.T) {
	a := shopifytest.New(shopifytest.Options{Shop: "north.myshopify.com", Customers: 2000, Orders: 3000, Products: 30, Checkouts: 50, BulkPolls: 1, Seed: 21, Secret: "north-secret"})
	defer a.Close()
	b := shopifytest.New(shopifytest.Options{Shop: "south.myshopify.com", Customers: 1500, Orders: 1000, Products: 20, Checkouts: 40, BulkPolls: 1, Seed: 22, Secret: "south-secret"})
	defer b.Close()
	r := startShopify(t, t.TempDir(), simConnector(a, b)+"sync: {reconcile_every: 0, bulk_poll_interval: 50ms}")
	wantBackfill := map[string]int{"north.myshopify.com": 2000 + 3000 + 30 + 50, "south.myshopify.com": 1500 + 1000 + 20 + 40}

	// Webhooks from both stores, interleaved, each store's in sequence.
	body, _ := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", "customers-update.json"))
	const hooks = 30
	for i := range hooks {
		for _, s := range []*shopifytest.Store{a, b} {
			o := s.Options()
			status, err := postWebhook(r.webhookURL(), body, signedHeaders(o.Shop, "customers/update", fmt.Sprintf("%s-%03d", o.Shop, i), o.Secret, body))
			if err != nil || status != 200 {
				t.Fatalf("%s webhook %d: %d %v", o.Shop, i, status, err)
			}
		}
	}
	r.waitKafka(int64(wantBackfill["north.myshopify.com"]+wantBackfill["south.myshopify.com"]+2*hooks), 100*time.Second)

	backfill := map[string]map[string]bool{"north.myshopify.com": {}, "south.myshopify.com": {}}
	lastKind := map[string]int{}
	nextHook := map[string]int{}
	rank := map[string]int{schemas.KindProduct: 0, schemas.KindCustomer: 1, schemas.KindOrder: 2, schemas.KindCheckout: 3}
	for _, m := range r.kafkaEvents() { // partition by partition, in offset order
		ev := m.Event
		if m.Key != ev.Shop || (ev.Shop != "north.myshopify.com" && ev.Shop != "south.myshopify.com") {
			t.Fatalf("event of %q keyed %q", ev.Shop, m.Key)
		}
		switch ev.Source {
		case shopify.SourceBackfill:
			// An object read again (a bulk file re-read after a failed
			// download) may come after a later kind; a new one may not.
			again := backfill[ev.Shop][ev.ID]
			backfill[ev.Shop][ev.ID] = true
			if rank[ev.Entity.Kind] < lastKind[ev.Shop] && !again {
				t.Fatalf("%s: a %s backfilled after a later kind", ev.Shop, ev.Entity.Kind)
			}
			lastKind[ev.Shop] = rank[ev.Entity.Kind]
		case shopify.Source:
			want := schemas.NewID("shopify", ev.Shop, "customers/update", fmt.Sprintf("%s-%03d", ev.Shop, nextHook[ev.Shop]))
			if ev.ID != want {
				t.Fatalf("%s: webhook %d out of order (event %s)", ev.Shop, nextHook[ev.Shop], ev.ID)
			}
			nextHook[ev.Shop]++
		}
	}
	for shop, n := range wantBackfill {
		if len(backfill[shop]) != n {
			t.Errorf("%s: %d distinct backfill events, want %d", shop, len(backfill[shop]), n)
		}
		if nextHook[shop] != hooks {
			t.Errorf("%s: %d webhook events, want %d", shop, nextHook[shop], hooks)
		}
	}
	r.stop()
}

// TestShopifyBackfillKillNine kills tajo (and with it the plugin) with
// SIGKILL in the middle of a backfill and starts it again: the backfill
// resumes from the position persisted before the last ack, and every
// object ends up on Kafka.
func TestShopifyBackfillKillNine(t *testing.T) {
	const customers, orders, products = 30_000, 30_000, 50
	adminURL := startSimulator(t, "-shop", "kill.myshopify.com", "-customers", fmt.Sprint(customers), "-orders", fmt.Sprint(orders),
		"-products", fmt.Sprint(products), "-checkouts", "0", "-token", "shpat_kill", "-secret", "kill-secret")
	dir := t.TempDir()
	r := startShopify(t, dir, fmt.Sprintf(`enabled: true
stores:
  - {shop_url: kill.myshopify.com, access_token: shpat_kill, api_secret: kill-secret, admin_url: %q}
sync: {carts: false, reconcile_every: 0, bulk_poll_interval: 50ms}`, adminURL))
	r.waitKafka(customers/2, 60*time.Second)
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()
	// The embedded broker died with tajo: the count is the last one seen
	// (more may have been written between that poll and the kill).
	before := r.lastCount

	r.start(filepath.Join(dir, "pipeline.yaml"))
	total := customers + orders + products
	deadline := time.Now().Add(90 * time.Second)
	var seen map[string]bool
	msgs := 0
	for {
		seen, msgs = map[string]bool{}, 0
		r.kafkaScan(func(_ int, _, value []byte) {
			msgs++
			var ev struct {
				Entity schemas.Entity `json:"entity"`
			}
			if err := json.Unmarshal(value, &ev); err == nil {
				seen[ev.Entity.Kind+"/"+ev.Entity.ID] = true
			}
		})
		if len(seen) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(seen) != total {
		t.Fatalf("%d of %d objects on Kafka after the restart\n%s", len(seen), total, r.logTail())
	}
	t.Logf("killed with %d records on Kafka; after the restart %d messages for %d objects (%d read again)", before, msgs, total, msgs-total)
	// Started over, it would re-read at least what was there (≥ before);
	// resumed, only what followed the last persisted position.
	if int64(msgs-total) >= before/2 {
		t.Fatalf("the restart re-read %d of the %d records already on Kafka: it did not resume", msgs-total, before)
	}
	r.stop()
}

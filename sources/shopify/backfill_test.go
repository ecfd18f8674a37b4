package shopify_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func simStore(t *testing.T, o shopifytest.Options) *shopifytest.Store {
	t.Helper()
	o.BulkPolls = 1
	s := shopifytest.New(o)
	t.Cleanup(s.Close)
	return s
}

func backfillConfig(stores ...*shopifytest.Store) *shopify.Config {
	c := shopify.NewConfig().(*shopify.Config)
	c.Sync.BulkPollInterval = 20 * time.Millisecond
	for _, s := range stores {
		o := s.Options()
		c.Stores = append(c.Stores, shopify.Store{ShopURL: o.Shop, AccessToken: config.Secret(o.AccessToken), APISecret: config.Secret(o.Secret), AdminURL: s.URL()})
	}
	return c
}

var kindRank = map[string]int{schemas.KindProduct: 0, schemas.KindCustomer: 1, schemas.KindOrder: 2, schemas.KindCheckout: 3}

// TestBackfillTwoStores backfills two simulated stores at once: every
// object of each arrives once, as a shopify.backfill event keyed and
// tagged with its own shop, in its store's order (products, customers,
// orders, checkouts; each in the order of its bulk file).
func TestBackfillTwoStores(t *testing.T) {
	a := simStore(t, shopifytest.Options{Shop: "alpha.myshopify.com", Customers: 300, Orders: 400, Products: 20, Checkouts: 30, Seed: 1})
	b := simStore(t, shopifytest.Options{Shop: "beta.myshopify.com", Customers: 200, Orders: 100, Products: 10, Checkouts: 10, Seed: 2})
	h := newHost(t, backfillConfig(a, b), hostOpts{})
	want := map[string]int{"alpha.myshopify.com": 750, "beta.myshopify.com": 320}
	var evs []*schemas.Event
	var got map[string]map[string]bool
	deadline := time.Now().Add(60 * time.Second)
	for {
		evs = h.events()
		h.mu.Lock()
		keys := slices.Clone(h.keys)
		h.mu.Unlock()
		got = map[string]map[string]bool{}
		last := map[string]int{}
		for i, ev := range evs {
			if ev.Source != shopify.SourceBackfill {
				continue // a reconciliation that found recent updates
			}
			if keys[i] != ev.Shop {
				t.Fatalf("event of %s keyed %s", ev.Shop, keys[i])
			}
			if got[ev.Shop] == nil {
				got[ev.Shop] = map[string]bool{}
			}
			// A bulk file read again after a failed download repeats
			// objects (same ids, harmless downstream), and restarts
			// that kind's order.
			again := got[ev.Shop][ev.ID]
			got[ev.Shop][ev.ID] = true
			if r := kindRank[ev.Entity.Kind]; r < last[ev.Shop] && !again {
				t.Fatalf("%s: a new %s after a later kind: store order not kept", ev.Shop, ev.Entity.Kind)
			} else {
				last[ev.Shop] = r
			}
			if ev.Topic != resource(ev.Entity.Kind)+"/backfill" || ev.Schema != schemas.EventSchema || ev.OccurredAt.IsZero() {
				t.Fatalf("event %+v", ev)
			}
		}
		if len(got["alpha.myshopify.com"]) >= want["alpha.myshopify.com"] && len(got["beta.myshopify.com"]) >= want["beta.myshopify.com"] {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for shop, n := range want {
		if len(got[shop]) != n {
			t.Errorf("%s: %d distinct backfill events, want %d", shop, len(got[shop]), n)
		}
	}
	if len(evs) > 750+320 {
		t.Logf("%d events for %d objects: some read again after a retry", len(evs), 750+320)
	}
	// Spot-check one object against what the store holds, exact id and
	// decimal total included.
	o := a.OrderAt(7)
	for _, ev := range evs {
		if ev.Shop == "alpha.myshopify.com" && ev.Entity.Kind == schemas.KindOrder && ev.Entity.ID == o.ID.String() {
			var got schemas.Order
			if err := jsonUnmarshal(ev.Data, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != o.ID || !got.TotalPrice.Equal(o.TotalPrice.Decimal) || got.Email != o.Email || len(got.LineItems) != len(o.LineItems) {
				t.Fatalf("order 7: got id %d total %s email %q lines %d; store has %d %s %q %d",
					got.ID, got.TotalPrice, got.Email, len(got.LineItems), o.ID, o.TotalPrice, o.Email, len(o.LineItems))
			}
			return
		}
	}
	t.Fatal("order 7 of alpha not found")
}

func resource(kind string) string {
	return map[string]string{schemas.KindProduct: "products", schemas.KindCustomer: "customers", schemas.KindOrder: "orders", schemas.KindCheckout: "checkouts"}[kind]
}

// TestBackfillResumes stops a backfill part way, after some batches were
// acked (their position persisted by the host), and restarts it: the
// second run resumes within the bulk file instead of starting over, and
// together the runs deliver every object.
func TestBackfillResumes(t *testing.T) {
	s := simStore(t, shopifytest.Options{Shop: "resume.myshopify.com", Customers: 3000, Seed: 3})
	cfg := backfillConfig(s)
	cfg.Sync.Orders, cfg.Sync.Products.Enabled, cfg.Sync.Carts = false, false, false
	cfg.StateDir = t.TempDir()

	h1 := newHost(t, cfg, hostOpts{noReader: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seen := map[string]int{}
	acked := 0
	for acked < 1200 {
		recs, err := h1.src.Read(ctx, 300)
		if err != nil {
			t.Fatal(err)
		}
		pos := make([]pipeline.Position, len(recs))
		for i, r := range recs {
			ev, _ := schemas.DecodeEvent(r.Value)
			seen[ev.ID]++
			pos[i] = r.Position
		}
		if err := h1.src.Ack(ctx, pos); err != nil {
			t.Fatal(err)
		}
		acked += len(recs)
	}
	h1.src.Close(ctx)

	h2 := newHost(t, cfg, hostOpts{state: h1.state})
	deadline := time.Now().Add(60 * time.Second)
	for {
		second := 0
		for _, ev := range h2.events() {
			if ev.Source == shopify.SourceBackfill {
				seen[ev.ID]++
				second++
			}
		}
		if len(seen) == 3000 {
			if second > 3000-acked+500 {
				t.Fatalf("the second run re-read %d objects after %d were acked: it did not resume", second, acked)
			}
			t.Logf("first run acked %d, second read %d", acked, second)
			return
		}
		for _, ev := range h2.events() {
			if ev.Source == shopify.SourceBackfill {
				seen[ev.ID]--
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3000 customers delivered", len(seen))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReconcileFromCursor: a store whose backfill is done is read back
// page by page from its cursor; the events carry the same ids a backfill
// of the same object versions would, so the guard drops the repeats.
func TestReconcileFromCursor(t *testing.T) {
	s := simStore(t, shopifytest.Options{Shop: "rec.myshopify.com", Customers: 120, Seed: 4})
	cfg := backfillConfig(s)
	cfg.Sync.Orders, cfg.Sync.Products.Enabled, cfg.Sync.Carts = false, false, false
	cfg.Sync.PageSize = 50
	st := openStateStore(t)
	pos := `{"v":1,"stores":{"rec.myshopify.com":{"backfill_done":true,"cursors":{"customer":{}}}}}`
	if err := st.Put("plugins.shopify", "position", []byte(pos)); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, cfg, hostOpts{state: st})
	evs := h.waitEvents(120, 30*time.Second)
	ids := map[string]bool{}
	for _, ev := range evs {
		if ev.Source != shopify.SourceReconcile || ev.Topic != "customers/reconcile" || ev.Type != schemas.TypeCustomerUpdated {
			t.Fatalf("event %+v", ev)
		}
		ids[ev.ID] = true
	}
	if len(ids) != 120 {
		t.Fatalf("%d distinct customers reconciled, want 120", len(ids))
	}
	c := s.CustomerAt(5)
	want, err := shopify.ObjectEvent("rec.myshopify.com", schemas.KindCustomer, c, c.UpdatedAt, shopify.SourceBackfill, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !ids[want.ID] {
		t.Fatalf("customer 5's reconcile event id differs from its backfill id %s", want.ID)
	}
	// The cursor moved to the newest object: the next run starts there.
	eventually(t, func() bool {
		b, _ := st.Get("plugins.shopify", "position")
		return strings.Contains(string(b), `"since":"`) && !strings.Contains(string(b), `"after"`)
	})
}

func openStateStore(t *testing.T) state.Store {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFailingStoreDoesNotStallOthers: a store whose token is refused keeps
// failing (and retrying, much later) on its own; the other store's
// backfill completes.
func TestFailingStoreDoesNotStallOthers(t *testing.T) {
	bad := simStore(t, shopifytest.Options{Shop: "revoked.myshopify.com", Customers: 50, Seed: 5})
	good := simStore(t, shopifytest.Options{Shop: "fine.myshopify.com", Customers: 400, Seed: 6})
	cfg := backfillConfig(bad, good)
	cfg.Stores[0].AccessToken = "shpat_revoked"
	cfg.Sync.Orders, cfg.Sync.Products.Enabled, cfg.Sync.Carts = false, false, false
	h := newHost(t, cfg, hostOpts{})
	for _, ev := range h.waitEvents(400, 30*time.Second) {
		if ev.Shop != "fine.myshopify.com" {
			t.Fatalf("event from %s", ev.Shop)
		}
	}
	if bad.Stats().Unauthorized == 0 {
		t.Fatal("the revoked store was never asked")
	}
}

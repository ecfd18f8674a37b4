package admin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func TestReconcileDecodesEveryKindExactly(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 61, Orders: 77, Products: 13, Checkouts: 17, BigOrderEvery: 25})
	defer s.Close()
	c := newClient(t, s)
	for _, kind := range admin.Kinds {
		t.Run(kind, func(t *testing.T) {
			all := reconcileAll(t, c, kind, 7)
			if len(all) != count(s, kind) {
				t.Fatalf("%d objects, want %d", len(all), count(s, kind))
			}
			for i, o := range all {
				if got, want := jsonOf(t, o.Value), jsonOf(t, generated(s, kind, i)); got != want {
					t.Fatalf("object %d:\n got %s\nwant %s", i, got, want)
				}
				if o.Kind != kind || o.ID == 0 || o.UpdatedAt.IsZero() {
					t.Fatalf("object %d header %+v", i, o)
				}
			}
		})
	}
	// Ids above 2^53 come through exactly: 2^53+1 has no float64.
	p := reconcileAll(t, c, admin.KindProduct, 5)[0].Value.(*schemas.Product)
	if p.Variants[0].ID != 1<<53+1 {
		t.Fatalf("variant id %d, want %d", p.Variants[0].ID, int64(1<<53+1))
	}
	if c := s.CustomerAt(60); c.ID != 706405506930370144 {
		t.Fatalf("generated id %d", c.ID)
	}
}

func TestReconcileResumesFromPersistedCursor(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 50, Products: 1, Checkouts: 23})
	defer s.Close()
	for _, kind := range []string{admin.KindCustomer, admin.KindCheckout} {
		t.Run(kind, func(t *testing.T) {
			seen := map[schemas.ID]int{}
			var persisted []byte
			// Run 1 crashes after its third page, whose cursor was
			// persisted before the crash.
			pages := 0
			errCrash := context.Canceled
			_, err := newClient(t, s).Reconcile(context.Background(), kind, admin.Cursor{}, 7, func(p admin.Page) error {
				for _, o := range p.Objects {
					seen[o.ID]++
				}
				persisted, _ = json.Marshal(p.Next)
				if pages++; pages == 3 {
					return errCrash
				}
				return nil
			})
			if err != errCrash {
				t.Fatalf("run 1: %v", err)
			}
			// Run 2: a new client resumes from what was persisted.
			var cur admin.Cursor
			if err := json.Unmarshal(persisted, &cur); err != nil {
				t.Fatal(err)
			}
			next, err := newClient(t, s).Reconcile(context.Background(), kind, cur, 7, func(p admin.Page) error {
				for _, o := range p.Objects {
					seen[o.ID]++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != count(s, kind) {
				t.Fatalf("saw %d distinct objects, want %d", len(seen), count(s, kind))
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("object %d seen %d times", id, n)
				}
			}
			// The next run starts at the newest updated_at; nothing changed,
			// so it re-reads at most the objects at that very timestamp
			// (none, where the sort is by updated_at).
			again := reconcileFrom(t, newClient(t, s), kind, next)
			want := 0
			if kind == admin.KindCheckout {
				want = 1 // id order: ties on the last timestamp are re-read
			}
			if len(again) != want {
				t.Fatalf("an unchanged store gave %d objects on the next run, want %d", len(again), want)
			}
			if next.Since.IsZero() || next.After != "" {
				t.Fatalf("next-run cursor %+v", next)
			}
		})
	}
}

func reconcileFrom(t *testing.T, c *admin.Client, kind string, cur admin.Cursor) []admin.Object {
	t.Helper()
	var all []admin.Object
	if _, err := c.Reconcile(context.Background(), kind, cur, 7, func(p admin.Page) error {
		all = append(all, p.Objects...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

func TestCursorTiesOnUpdatedAt(t *testing.T) {
	// Customers 2i and 2i+1 share updated_at. A cursor at customer 10
	// (the first of its pair) must resume with customer 11, not skip it
	// as a strict updated_at:> bound would.
	s := shopifytest.New(shopifytest.Options{Customers: 20, Products: 1})
	defer s.Close()
	c10 := s.CustomerAt(10)
	cur := admin.Cursor{Since: c10.UpdatedAt, UpdatedAt: c10.UpdatedAt, ID: c10.ID, SettledBefore: time.Now()}
	got := reconcileFrom(t, newClient(t, s), admin.KindCustomer, cur)
	if len(got) != 9 || got[0].ID != s.CustomerAt(11).ID {
		t.Fatalf("resumed with %d objects starting at %d", len(got), got[0].ID)
	}
	// At a second that was not settled when the cursor was written,
	// customer 10 may have been updated again within that second after it
	// was read: it is read again rather than risk losing the update.
	cur.SettledBefore = c10.UpdatedAt
	got = reconcileFrom(t, newClient(t, s), admin.KindCustomer, cur)
	if len(got) != 10 || got[0].ID != c10.ID {
		t.Fatalf("unsettled tie: %d objects starting at %d", len(got), got[0].ID)
	}
}

func TestPageSizeKeepsQueriesUnderTheCostLimit(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Orders: 300, Products: 40, Customers: 1})
	defer s.Close()
	c := newClient(t, s)
	for _, kind := range []string{admin.KindOrder, admin.KindProduct} {
		p, err := c.FetchPage(context.Background(), kind, admin.Cursor{}, 250)
		if err != nil {
			t.Fatalf("%s with first 250: %v", kind, err)
		}
		if len(p.Objects) == 0 || !p.More {
			t.Fatalf("%s: %d objects", kind, len(p.Objects))
		}
	}
}

func TestPagesCompleteTruncatedNestedConnections(t *testing.T) {
	// Orders 6, 13, 20 and 27 have 45 line items; a page nests 20.
	s := shopifytest.New(shopifytest.Options{Customers: 5, Orders: 30, Products: 20, BigOrderEvery: 7})
	defer s.Close()
	c := newClient(t, s)
	all := reconcileAll(t, c, admin.KindOrder, 10)
	big := 0
	for j, o := range all {
		if got, want := jsonOf(t, o.Value), jsonOf(t, s.OrderAt(j)); got != want {
			t.Fatalf("order %d:\n got %s\nwant %s", j, got, want)
		}
		if len(o.Value.(*schemas.Order).LineItems) == 45 {
			big++
		}
	}
	// 3 pages and one follow-up (the 25 lines after the first 20) per big order.
	if big != 4 || c.Stats().Requests != 3+4 {
		t.Fatalf("%d big orders, %d requests", big, c.Stats().Requests)
	}
}

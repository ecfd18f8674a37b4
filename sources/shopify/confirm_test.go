package shopify_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// TestDeletionConfirmedByTheAdminAPI: a customers/delete body is only an
// id, so another topic's signed {"id": N} (orders/delete, products/delete)
// posted again under the deletion header fits its shape. With an access
// token, tajo asks the Admin API first: a customer it still has is not
// deleted (the delivery is unprocessable, with the reason, for the error
// history), one it no longer has is; an Admin API that cannot answer in
// time gets the webhook a 503 (Shopify sends it again), and a refused
// token makes the delivery unprocessable rather than a deletion.
func TestDeletionConfirmedByTheAdminAPI(t *testing.T) {
	const other = "other.myshopify.com"
	st := simStore(t, shopifytest.Options{Shop: "confirm.myshopify.com", Customers: 5, Orders: 1, Products: 1, Checkouts: 1})
	o := st.Options()
	cfg := webhookConfig(nil)
	cfg.Stores = []shopify.Store{
		{ShopURL: o.Shop, AccessToken: config.Secret(o.AccessToken), APISecret: config.Secret(o.Secret), AdminURL: st.URL()},
		{ShopURL: other, AccessToken: "shpat_revoked", APISecret: config.Secret(o.Secret), AdminURL: st.URL()},
	}
	h := newHost(t, cfg, hostOpts{})
	id := int64(st.CustomerAt(2).ID)
	body := []byte(fmt.Sprintf(`{"id":%d,"phone":null,"addresses":[],"tax_exemptions":[],"email_marketing_consent":null,`+
		`"sms_marketing_consent":null,"admin_graphql_api_id":"gid://shopify/Customer/%d"}`, id, id))
	deliver := func(shop, webhookID string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.url, strings.NewReader(string(body)))
		req.Header = signed(shop, "customers/delete", webhookID, o.Secret, body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	last := func(n int) *schemas.Event {
		t.Helper()
		evs := h.waitEvents(n, 10*time.Second)
		if len(evs) != n {
			t.Fatalf("%d events, want %d", len(evs), n)
		}
		return evs[n-1]
	}

	// The store still has the customer: not a deletion.
	if code, _ := deliver(o.Shop, "confirm-1"); code != http.StatusOK {
		t.Fatalf("customers/delete of a customer the store has: %d, want 200", code)
	}
	ev := last(1)
	if ev.Type != schemas.TypeDeliveryUnprocessable || !strings.Contains(strings.Join(ev.Problems, ";"), fmt.Sprintf("the Admin API still has customer %d", id)) {
		t.Fatalf("customers/delete of a customer the store has: %s %v, want unprocessable with the reason", ev.Type, ev.Problems)
	}

	// The Admin API is down (both attempts): 503, Retry-After, no event;
	// Shopify's redelivery (same webhook id) is judged again later.
	st.Inject(shopifytest.Fault{Status: 503}, shopifytest.Fault{Status: 503})
	st.DeleteCustomer(id)
	if code, hdr := deliver(o.Shop, "confirm-2"); code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("Admin API down: %d (Retry-After %q), want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(h.events()); n != 1 {
		t.Fatalf("a 503 delivery produced an event (%d events)", n)
	}

	// Deleted in the store: the redelivery is the deletion.
	if code, _ := deliver(o.Shop, "confirm-2"); code != http.StatusOK {
		t.Fatalf("customers/delete after the deletion: %d, want 200", code)
	}
	if ev := last(2); ev.Type != schemas.TypeCustomerDeleted || ev.Entity.ID != fmt.Sprint(id) {
		t.Fatalf("customers/delete after the deletion: %s %+v, want %s", ev.Type, ev.Entity, schemas.TypeCustomerDeleted)
	}

	// A token the Admin API refuses cannot confirm: unprocessable.
	if code, _ := deliver(other, "confirm-3"); code != http.StatusOK {
		t.Fatalf("customers/delete with a refused token: %d, want 200", code)
	}
	if ev := last(3); ev.Type != schemas.TypeDeliveryUnprocessable || !strings.Contains(strings.Join(ev.Problems, ";"), "could not confirm") {
		t.Fatalf("customers/delete with a refused token: %s %v, want unprocessable", ev.Type, ev.Problems)
	}
}

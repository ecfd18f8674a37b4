package shopify_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tajo/tajo/sources/shopify"
)

// The webhook ingress in four steps: authenticate, read headers, normalize,
// answer. The 200 for a good delivery is sent only after the event is
// durably on Kafka.
func Example() {
	secrets := shopify.Secrets{Current: "new-secret", Previous: "old-secret"}
	body := []byte(`{"id":706405506930370084,"email":"bob@biller.com","updated_at":"2021-12-31T19:00:00-05:00"}`)

	h := http.Header{}
	h.Set("X-Shopify-Topic", "customers/update")
	h.Set("X-Shopify-Shop-Domain", "demo-store.myshopify.com")
	h.Set("X-Shopify-API-Version", "2026-04")
	h.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	h.Set("X-Shopify-Hmac-Sha256", shopify.Sign(body, "old-secret")) // signed before a rotation

	w, err := shopify.Verify(h, body, secrets, time.Now())
	if err != nil {
		fmt.Println(shopify.HTTPStatus(err), err)
		return
	}
	ev, err := shopify.Normalize(w)
	if err != nil {
		fmt.Println(shopify.HTTPStatus(err), err)
		return
	}
	fmt.Println(ev.Type, ev.Entity.Kind, ev.Entity.ID, ev.OccurredAt.Format(time.RFC3339))

	h.Set("X-Shopify-Hmac-Sha256", shopify.Sign(body, "leaked-guess"))
	_, err = shopify.Verify(h, body, secrets, time.Now())
	fmt.Println(shopify.HTTPStatus(err))
	// Output:
	// customer_updated customer 706405506930370084 2022-01-01T00:00:00Z
	// 401
}

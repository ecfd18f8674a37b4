package shopify_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify"
)

// TestHostAnswersDuplicates: the host answers a copy of a delivery it
// answered 200 itself ("duplicate", no event), and the webhook log shows
// that copy with the delivery's shop, topic and id; a copy with a bad
// signature is still a 401, never a duplicate.
func TestHostAnswersDuplicates(t *testing.T) {
	const shop, secret = "dup-host.myshopify.com", "s"
	h := newHost(t, webhookConfig(map[string]string{shop: secret}), hostOpts{})
	body, _ := os.ReadFile("testdata/webhooks/orders-create.json")
	hdr := signed(shop, "orders/create", "delivered-once", secret, body)
	if s, _ := post(t, h.url, body, hdr); s != http.StatusOK {
		t.Fatalf("first delivery answered %d", s)
	}
	h.waitEvents(1, 5*time.Second)
	forged := hdr.Clone()
	forged.Set(shopify.HeaderHMAC, shopify.Sign(body, "not-the-secret"))
	if s, _ := post(t, h.url, body, forged); s != http.StatusUnauthorized {
		t.Fatalf("copy with a bad signature answered %d, want 401", s)
	}
	// Its commit is written just after the answer.
	within(t, 5*time.Second, "the copy answered duplicate", func() bool {
		s, b := post(t, h.url, body, hdr)
		return s == http.StatusOK && strings.TrimSpace(b) == "duplicate"
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(h.events()); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	// The first delivery's row, then the duplicate's, alike.
	within(t, 5*time.Second, "the duplicate in the webhook log", func() bool {
		n := 0
		for _, l := range h.log.all() {
			if l.WebhookID == "delivered-once" && l.Status == 200 && l.HMAC == "valid" && l.Shop == shop && l.Topic == "orders/create" && l.APIVersion == "2026-10" {
				n++
			}
		}
		return n >= 2
	})
}

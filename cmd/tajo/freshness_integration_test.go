//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRenameThenOlderOrderKeepsTheNewName is DESIGN.md invariant 3 through
// the real binary: a signed customers/update renames a customer, then an
// orders/create written before the rename (its embedded customer has the
// old name and an older updated_at) arrives. The order counts, and the
// Brevo contact keeps the new name. Then a delivery tajo cannot process
// ends in the dead letters, not nowhere.
func TestRenameThenOlderOrderKeepsTheNewName(t *testing.T) {
	const secret = "fresh-secret"
	r := startWebhookRun(t, secret, "")
	srv, dir, logPath, url := r.srv, r.dir, r.logPath, r.url

	const email = "ana.novak@example.com"
	rename := []byte(`{"id":5501,"email":"` + email + `","first_name":"Ana","last_name":"Novak","phone":"+33612345678",` +
		`"created_at":"2026-10-01T00:00:00Z","updated_at":"2026-11-20T10:00:00Z"}`)
	postSigned(t, url, "customers/update", "fresh-rename", secret, rename)
	waitFor(t, "the renamed contact", logPath, 60*time.Second, func() bool {
		c := srv.Contact(email)
		return c != nil && c.Attributes["FIRSTNAME"] == "Ana"
	})

	older := []byte(`{"id":7701,"name":"#7701","email":"` + email + `","currency":"EUR","financial_status":"paid","test":false,` +
		`"total_price":"42.00","subtotal_price":"42.00","total_tax":"0.00",` +
		`"created_at":"2026-11-20T09:00:00Z","updated_at":"2026-11-20T09:00:00Z","processed_at":"2026-11-20T09:00:00Z",` +
		`"line_items":[{"id":1,"product_id":11,"variant_id":12,"title":"Mug","quantity":1,"price":"42.00"}],` +
		`"customer":{"id":5501,"email":"` + email + `","first_name":"Anna","last_name":"Oldname","phone":"+33699999999",` +
		`"created_at":"2026-10-01T00:00:00Z","updated_at":"2026-11-20T09:00:00Z"}}`)
	postSigned(t, url, "orders/create", "fresh-order", secret, older)
	waitFor(t, "the order's aggregates on the contact", logPath, 60*time.Second, func() bool {
		c := srv.Contact(email)
		return c != nil && fmt.Sprint(c.Attributes["ORDER_COUNT"]) == "1"
	})
	c := srv.Contact(email)
	if c.Attributes["FIRSTNAME"] != "Ana" || c.Attributes["LASTNAME"] != "Novak" || c.Attributes["SMS"] != "+33612345678" {
		t.Fatalf("the older order's snapshot overwrote the rename: %v", c.Attributes)
	}

	// A signed delivery without an id is answered 200 and kept, with its
	// envelope and the reason, in the dead letters (DESIGN.md invariant 7).
	noID := []byte(`{"name":"#7702","email":"` + email + `","total_price":"1.00"}`)
	postSigned(t, url, "orders/create", "fresh-no-id", secret, noID)
	var dl map[string]any
	waitFor(t, "the unprocessable delivery in the dead letters", logPath, 60*time.Second, func() bool {
		for _, d := range deadLetters(t, dir) {
			if d["code"] == "unprocessable_delivery" {
				dl = d
				return true
			}
		}
		return false
	})
	payload, _ := json.Marshal(dl["payload"])
	if !strings.Contains(fmt.Sprint(dl["reason"]), "orders/create") || !strings.Contains(string(payload), `#7702`) ||
		!strings.Contains(string(payload), `"headers"`) {
		t.Fatalf("dead letter without its reason or envelope: %v", dl)
	}
	stopTajo(t, r.cmd, r.signal)
}

//go:build integration

package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOddRealBodiesReachBrevo is issue 9's first acceptance table through
// the real binary: signed deliveries as real stores send them, with []
// or {} for an address, a timestamp that does not parse
// ("2019-01-01 00:00:00.000Z", "NULL"), a boolean as a string and money
// that is not a decimal, are each answered 200, and each contact still
// reaches the Brevo simulator with the fields that parsed. (What each
// event's problems name is sources/shopify TestIngressTable.)
func TestOddRealBodiesReachBrevo(t *testing.T) {
	const secret = "odd-secret"
	r := startWebhookRun(t, secret, "")
	type want struct{ first, last string }
	cases := []struct {
		name, topic, email, body string
		want                     want
	}{
		{"customer with [] and {} addresses, NULL created_at, string boolean", "customers/update", "odd.one@example.com",
			`{"id":6101,"email":"odd.one@example.com","first_name":"Odile","last_name":"One","default_address":[],"addresses":{},` +
				`"created_at":"NULL","updated_at":"2026-11-20T10:00:00Z","verified_email":"true","tax_exempt":"false"}`,
			want{"Odile", "One"}},
		{"customer with a timestamp Shopify's old apps wrote", "customers/create", "odd.two@example.com",
			`{"id":6102,"email":"odd.two@example.com","first_name":"Otto","last_name":"Two","created_at":"2019-01-01 00:00:00.000Z",` +
				`"updated_at":"2026-11-20T10:00:00Z","default_address":{}}`,
			want{"Otto", "Two"}},
		{"checkout with shipping_address [] and money with a comma", "checkouts/create", "odd.three@example.com",
			`{"id":6103,"token":"odd-three","email":"odd.three@example.com","shipping_address":[],"billing_address":{},` +
				`"total_price":"12,50","subtotal_price":"NULL","created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z",` +
				`"customer":{"id":6103,"email":"odd.three@example.com","first_name":"Olga","last_name":"Three","updated_at":"2026-11-20T10:00:00Z"},` +
				`"line_items":[]}`,
			want{"Olga", "Three"}},
		{"order with non-decimal money, a string boolean and [] addresses", "orders/create", "odd.four@example.com",
			`{"id":6104,"name":"#6104","email":"odd.four@example.com","currency":"EUR","financial_status":"paid","test":"false",` +
				`"total_price":"abc","subtotal_price":"12.00","total_tax":"","shipping_address":[],"billing_address":[],` +
				`"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","processed_at":"NULL",` +
				`"line_items":[{"id":1,"product_id":11,"variant_id":12,"title":"Mug","quantity":1,"price":"12.00"}],` +
				`"customer":{"id":6104,"email":"odd.four@example.com","first_name":"Oscar","last_name":"Four","default_address":[],` +
				`"created_at":"2026-10-01T00:00:00Z","updated_at":"2026-11-20T10:00:00Z"}}`,
			want{"Oscar", "Four"}},
	}
	for i, c := range cases {
		body := []byte(c.body)
		code, err := postWebhook(r.url, body, signedHeaders(brevoShop, c.topic, fmt.Sprintf("odd-%d", i), secret, body))
		if err != nil || code != http.StatusOK {
			t.Errorf("%s: answered %d, %v; want 200", c.name, code, err)
		}
	}
	waitFor(t, "the four contacts", r.logPath, 60*time.Second, func() bool {
		for _, c := range cases {
			if r.srv.Contact(c.email) == nil {
				return false
			}
		}
		return true
	})
	for _, c := range cases {
		got := r.srv.Contact(c.email)
		if got.Attributes["FIRSTNAME"] != c.want.first || got.Attributes["LASTNAME"] != c.want.last {
			t.Errorf("%s: contact %s has %v, want FIRSTNAME %s LASTNAME %s", c.name, c.email, got.Attributes, c.want.first, c.want.last)
		}
	}
	waitFor(t, "the odd order's order_placed", r.logPath, 30*time.Second, func() bool {
		for _, e := range r.srv.Events() {
			if e.Name == "order_placed" && e.Identifiers["email_id"] == "odd.four@example.com" {
				return true
			}
		}
		return false
	})
	for _, d := range deadLetters(t, r.dir) {
		if strings.Contains(fmt.Sprint(d["payload"]), "odd.") {
			t.Errorf("an odd delivery in the dead letters: %v %v", d["code"], d["reason"])
		}
	}
	stopTajo(t, r.cmd, r.signal)
}

package transforms

import (
	"testing"

	"github.com/tajo/tajo/transforms/expression"
)

// TestFunctionLibraryExamples checks every example of README.md.
func TestFunctionLibraryExamples(t *testing.T) {
	c := newChain(t, "transforms: {shops: {shop.myshopify.com: {timezone: Europe/Paris, phone_country: FR}}}\n")
	rec := record(t, event(t, "customer_updated", "customer", "1", t0,
		`{"id":1,"locale":"","tags":"vip, wholesale","phone":"06 12 34 56 78","created_at":"2026-11-20T09:00:00Z"}`))
	it, err := c.ts[0].Transform.(*guard).c.load(rec)
	if err != nil {
		t.Fatal(err)
	}
	env := it.environment()
	for src, want := range map[string]any{
		`safeDiv(money(customer.total_spent), customer.orders_count)`: 0.0,
		`safeDiv(10, 4)`: 2.5,
		`round(2.675)`:   2.68,
		`round(2.5, 0)`:  3.0,
		`round(-2.5, 0)`: -3.0,
		`coalesce(customer.locale, order.customer_locale, "en")`: "en",
		`coalesce(nil, 0, 5)`:                                 0,
		`lower(trim("  A@B.C "))`:                             "a@b.c",
		`e164("06 12 34 56 78", "FR")`:                        "+33612345678",
		`e164(customer.phone, shop.country)`:                  "+33612345678",
		`e164("+1 (555) 010-0199", "")`:                       "+15550100199",
		`e164("0041 44 668 18 00", "FR")`:                     "+41446681800",
		`e164("", "FR")`:                                      nil,
		`hasTag(customer.tags, " VIP ")`:                      true,
		`hasTag(customer.tags, "retail")`:                     false,
		`money(order.total_price) * 0.2`:                      0.0,
		`daysSince(customer.created_at)`:                      7,
		`daysSince(customer.updated_at)`:                      nil,
		`toDate("2026-11-27").Format("2006-01-02 15:04 MST")`: "2026-11-27 00:00 CET",
		`toDate(1700000000).Unix()`:                           int64(1700000000),
	} {
		p, err := expression.Compile(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := p.Run(env)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got != want {
			t.Errorf("%s = %#v, want %#v", src, got, want)
		}
	}
}

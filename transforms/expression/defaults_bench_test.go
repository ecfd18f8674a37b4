package expression

import (
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// benchEnv is the environment of a known customer with orders, tags, a
// phone and a locale: every default expression has work to do.
func benchEnv() *Env {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return &Env{
		Event: &EventView{Type: schemas.TypeCustomerUpdated, Kind: schemas.KindCustomer},
		Customer: &CustomerView{
			ID: 706405506930370084, Email: "zoe@example.com", FirstName: "Zoë", LastName: "Martin",
			Phone: "+61 411 111 111", Locale: "en-AU", Tags: []string{"wholesale", "vip"},
			EmailConsent: "subscribed", SMSConsent: "not_subscribed", AggregatesKnown: true,
			OrdersCount: 3, TotalSpent: schemas.MustMoney("208.95"), AverageOrderValue: schemas.MustMoney("69.65"),
			LastOrderAt: now.Add(-72 * time.Hour),
		},
		Order: &OrderView{}, Checkout: &CheckoutView{}, Product: &ProductView{},
		Shop: &ShopView{Domain: "shop.myshopify.com", Timezone: "UTC", Country: "AU"}, Now: now,
	}
}

// benchDefaults runs the whole default mapping once per iteration, with
// its natives (the chain's path) or through the VM only: the ratio is
// what the Go copies save on one contact event.
func benchDefaults(b *testing.B, native bool) {
	env := benchEnv()
	progs := make([]*Program, len(Defaults))
	for i, d := range Defaults {
		p, err := Compile(d.Expr)
		if err != nil {
			b.Fatal(err)
		}
		if !native {
			p.native = nil
		}
		progs[i] = p
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range progs {
			if _, err := p.Run(env); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDefaultsNative(b *testing.B)  { benchDefaults(b, true) }
func BenchmarkDefaultsProgram(b *testing.B) { benchDefaults(b, false) }

package expression

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// TestNativesAgreeWithPrograms runs every native and its compiled program
// on the same environments: the results must be identical (value and
// dynamic type), and a native may decline only where the program fails.
func TestNativesAgreeWithPrograms(t *testing.T) {
	for _, d := range Defaults {
		if natives[d.Expr] == nil {
			t.Errorf("default %s (%s) has no native", d.Field, d.Expr)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Date(2026, 11, 27, 0, 30, 0, 0, paris)
	var envs []*Env
	add := func(f func(c *CustomerView, e *Env)) {
		e := &Env{Event: &EventView{}, Customer: &CustomerView{}, Order: &OrderView{}, Checkout: &CheckoutView{}, Product: &ProductView{}, Shop: &ShopView{Country: "FR"}, Now: now}
		f(e.Customer, e)
		envs = append(envs, e)
	}
	add(func(*CustomerView, *Env) {})
	tagSets := [][]string{nil, {}, {"vip"}, {" VIP "}, {"a", "b c"}, {"vipx", "wholesale"}}
	spents := []string{"0", "0.01", "499.99", "500", "999.99", "1000", "1000.001", "-5", "1e25", "123456789012345678901234567890"}
	phones := []string{"", "   ", "06 12 34 56 78", "+61 411 111 111", "0033 6 12 34 56 78", "garbage", "12", "+1 (555) 010-9999 x12"}
	countries := []string{"", "FR", "AU", "IT", "ZZ"}
	locales := [][3]string{{"", "", ""}, {"en-AU", "", ""}, {"", "fr", ""}, {"", "", "de"}, {"", "fr", "de"}}
	times := []time.Time{{}, time.Date(2026, 11, 26, 23, 59, 0, 0, time.UTC), time.Date(2020, 2, 29, 12, 0, 0, 0, tokyo), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 4000; i++ {
		add(func(c *CustomerView, e *Env) {
			pick := func(n int) int { return (i*7919 + n*104729) % n }
			c.ID = []int64{0, 1, 706405506930370084, 1 << 62}[pick(4)]
			c.Email = []string{"", "zoe@example.com"}[i%2]
			c.FirstName, c.LastName = []string{"", "Zoë"}[i/2%2], []string{"", "O\"Neil"}[i/4%2]
			c.EmailConsent = []string{"", "subscribed", "unsubscribed", "not_subscribed"}[i/3%4]
			c.SMSConsent = []string{"", "pending", "redacted"}[i/5%3]
			c.Tags = tagSets[i%len(tagSets)]
			c.AggregatesKnown = i%3 != 0
			c.OrdersCount = []int{0, 1, 2, 7}[i/7%4]
			c.TotalSpent = schemas.MustMoney(spents[i/11%len(spents)])
			c.AverageOrderValue = schemas.MustMoney(spents[i/13%len(spents)])
			c.Phone = phones[i/17%len(phones)]
			e.Shop.Country = countries[i/19%len(countries)]
			l := locales[i/23%len(locales)]
			c.Locale, e.Order.CustomerLocale, e.Checkout.CustomerLocale = l[0], l[1], l[2]
			c.LastOrderAt = times[i/29%len(times)]
			e.Now = []time.Time{now, now.In(tokyo), now.UTC().Add(-time.Hour)}[i/31%3]
		})
	}
	declined := 0
	for _, d := range Defaults {
		p, err := compile(d.Expr, false)
		if err != nil {
			t.Fatal(err)
		}
		if p.native == nil {
			t.Fatalf("%s: native not attached", d.Expr)
		}
		for i, e := range envs {
			want, werr := p.runVM(e)
			got, ok := p.native(e)
			if !ok {
				declined++
				if werr == nil {
					t.Fatalf("%s, env %d: native declined, program gave %#v", d.Expr, i, want)
				}
				if v, err := p.Run(e); err == nil || err.Error() != werr.Error() || v != nil {
					t.Fatalf("%s, env %d: run gave %v, %v; want the program's error %v", d.Expr, i, v, err, werr)
				}
				continue
			}
			if werr != nil {
				t.Fatalf("%s, env %d: program failed (%v), native gave %#v", d.Expr, i, werr, got)
			}
			if !reflect.DeepEqual(got, want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
				t.Fatalf("%s, env %d: native %#v (%T), program %#v (%T)", d.Expr, i, got, got, want, want)
			}
		}
	}
	if declined == 0 {
		t.Error("no environment exercised a failing expression")
	}
}

package admin_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func newClient(t testing.TB, s *shopifytest.Store, mod ...func(*admin.Config)) *admin.Client {
	t.Helper()
	cfg := admin.Config{
		Shop: s.Shop(), AccessToken: s.Options().AccessToken, AdminURL: s.URL(),
		BackoffBase: time.Millisecond, BackoffMax: 2 * time.Second, PollInterval: time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := admin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// generated returns object i of kind as the simulator holds it.
func generated(s *shopifytest.Store, kind string, i int) any {
	switch kind {
	case admin.KindCustomer:
		return s.CustomerAt(i)
	case admin.KindOrder:
		return s.OrderAt(i)
	case admin.KindProduct:
		return s.ProductAt(i)
	}
	return s.CheckoutAt(i)
}

func count(s *shopifytest.Store, kind string) int {
	o := s.Options()
	return map[string]int{admin.KindCustomer: o.Customers, admin.KindOrder: o.Orders, admin.KindProduct: o.Products, admin.KindCheckout: o.Checkouts}[kind]
}

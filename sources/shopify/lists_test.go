package shopify_test

import (
	"fmt"
	"testing"

	"github.com/tajo/tajo/sources/shopify"
)

// EachLists hands the seed's Brevo lists on: the top level's for every
// shop, then each store's, a store without lists inheriting the top
// level's.
func TestEachListsGivesTheSeedsLists(t *testing.T) {
	c := shopify.Config{
		Lists: shopify.Lists{AllCustomers: 5, Buyers: 6, AbandonedCart: 7},
		Stores: []shopify.Store{
			{ShopURL: "A.myshopify.com"},
			{ShopURL: "b.myshopify.com", Lists: &shopify.Lists{AllCustomers: 15}},
		},
	}
	var got []string
	c.EachLists(func(shop string, all, buyers, carts int64) {
		got = append(got, fmt.Sprintf("%s=%d/%d/%d", shop, all, buyers, carts))
	})
	if want := "[=5/6/7 a.myshopify.com=5/6/7 b.myshopify.com=15/0/0]"; fmt.Sprint(got) != want {
		t.Errorf("EachLists gave %v, want %s", got, want)
	}
}

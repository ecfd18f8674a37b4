package shopify_test

import (
	"fmt"
	"testing"

	"github.com/tajo/tajo/sources/shopify"
)

// One store the seed's way needs its api_secret, and its access_token
// only when something reads the Admin API; the stores form is judged per
// store by Validate.
func TestMissingCredentials(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  shopify.Config
		want string
	}{
		{"nothing, backfill on", shopify.Config{Sync: shopify.Sync{Backfill: true}}, "[api_secret SHOPIFY_API_SECRET the Shopify store access_token SHOPIFY_ACCESS_TOKEN the Shopify store]"},
		{"webhooks only", shopify.Config{}, "[api_secret SHOPIFY_API_SECRET the Shopify store]"},
		{"complete", shopify.Config{APISecret: "s", AccessToken: "t", Sync: shopify.Sync{ReconcileEvery: 1}}, "[]"},
		{"stores form", shopify.Config{Stores: []shopify.Store{{ShopURL: "a.myshopify.com"}}}, "[]"},
	} {
		var got []string
		c.cfg.MissingCredentials(func(key, variable, service string) { got = append(got, key, variable, service) })
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}

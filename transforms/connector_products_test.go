package transforms

import (
	"testing"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

// fakeShopify stands in for connectors.shopify's config: the chain reads
// sync.products through the ProductSettings interface only.
type fakeShopify struct {
	Status  []string `yaml:"status"`
	Exclude []string `yaml:"exclude"`
}

func (f *fakeShopify) ProductSyncSettings() (bool, bool, bool, bool, []string, []string) {
	return true, true, true, false, f.Status, f.Exclude
}

func init() { config.Register("connectors", "shopify", func() any { return &fakeShopify{} }) }

func TestConnectorProductSettingsFeedTheChain(t *testing.T) {
	data := canonical(t, fixture(t, "products-create.json"), new(schemas.Product))
	ev := event(t, schemas.TypeProductCreated, "product", "1", t0, data)
	for yaml, dropped := range map[string]bool{
		"connectors: {shopify: {status: [draft]}}\n":  true,  // default chain gains a product filter
		"connectors: {shopify: {exclude: [Mens]}}\n":  true,  // the fixture is tagged Mens
		"connectors: {shopify: {status: [active]}}\n": false, // the fixture is active
		// A configured chain's product_filter without products: takes them
		// from the connector; one with its own settings keeps them.
		"connectors: {shopify: {status: [draft]}}\ntransforms: {stages: [{name: p, type: product_filter}]}\n":                                         true,
		"connectors: {shopify: {status: [draft]}}\ntransforms: {stages: [{name: p, type: product_filter, products: {filter: {status: [active]}}}]}\n": false,
		// No product filter stage in a configured chain: nothing is added.
		"connectors: {shopify: {status: [draft]}}\ntransforms: {stages: [{name: g, type: guard}]}\n": false,
	} {
		c := newChain(t, yaml)
		if o := c.mustRun(record(t, ev)); (o == nil) != dropped {
			t.Errorf("%s: dropped %v, want %v", yaml, o == nil, dropped)
		}
	}
}

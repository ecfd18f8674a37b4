package brevo_test

import (
	"slices"
	"testing"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
)

// seedLists stands in for connectors.shopify's config: lists for every
// shop, each store's, and sync.products.
type seedLists struct {
	byShop           []shopLists
	variants, images bool
}

type shopLists struct {
	shop               string
	all, buyers, carts int64
}

func (s *seedLists) EachLists(fn func(shop string, all, buyers, carts int64)) {
	for _, l := range s.byShop {
		fn(l.shop, l.all, l.buyers, l.carts)
	}
}

func (s *seedLists) ProductSyncSettings() (bool, bool, bool, bool, []string, []string) {
	return true, s.variants, s.images, false, nil, nil
}

func deriveFrom(src *seedLists, mod func(*brevo.SinkConfig)) *brevo.SinkConfig {
	bc := brevo.NewSinkConfig().(*brevo.SinkConfig)
	mod(bc)
	cfg := &config.Config{Components: map[string]map[string]*config.Component{
		"connectors": {"seed": {Enabled: true, Spec: src}},
		"sinks":      {"brevo": {Enabled: true, Spec: bc}},
	}}
	bc.Derive(cfg, &config.Problems{})
	return bc
}

// The seed's lists become lists_by_shop: every shop's under "*", a
// store's under its domain (the key a user wrote for it, in any case);
// what a user wrote wins id by id, sinks.brevo.lists over both; the
// products options follow sync.products.
func TestDeriveListsAndProductsFromTheSeed(t *testing.T) {
	src := &seedLists{byShop: []shopLists{
		{"", 5, 6, 7},
		{"a.myshopify.com", 5, 6, 7},
		{"store-b.myshopify.com", 15, 16, 17},
		{"empty.myshopify.com", 0, 0, 0},
	}, variants: true}
	bc := deriveFrom(src, func(bc *brevo.SinkConfig) {
		bc.ListsByShop = map[string]brevo.ListIDs{"Store-B.myshopify.com": {Buyers: 26}}
	})
	for shop, want := range map[string]brevo.ListIDs{
		"a.myshopify.com":       {AllCustomers: 5, Buyers: 6, AbandonedCart: 7},
		"store-b.myshopify.com": {AllCustomers: 15, Buyers: 26, AbandonedCart: 17},
		"other.myshopify.com":   {AllCustomers: 5, Buyers: 6, AbandonedCart: 7},
	} {
		if got := bc.ListsFor(shop); got != want {
			t.Errorf("lists of %s: %+v, want %+v", shop, got, want)
		}
	}
	if _, ok := bc.ListsByShop["store-b.myshopify.com"]; ok {
		t.Errorf("a second key for the store a user wrote as Store-B: %v", bc.ListsByShop)
	}
	if _, ok := bc.ListsByShop["empty.myshopify.com"]; ok {
		t.Errorf("a store without lists got an entry: %v", bc.ListsByShop)
	}
	if bc.Products != (brevo.ProductOptions{IncludeVariants: true}) {
		t.Errorf("products %+v, want variants without images", bc.Products)
	}

	bc = deriveFrom(src, func(bc *brevo.SinkConfig) { bc.Lists.AllCustomers = 40 })
	if got := bc.AllListIDs(); !slices.Equal(got, []int64{6, 7, 16, 17, 40}) {
		t.Errorf("with sinks.brevo.lists.all_customers 40, the lists used are %v", got)
	}
}

// With no component offering lists, the sink keeps what it was written.
func TestDeriveWithoutASourceChangesNothing(t *testing.T) {
	bc := brevo.NewSinkConfig().(*brevo.SinkConfig)
	bc.Lists.Buyers = 3
	before := *bc
	cfg := &config.Config{Components: map[string]map[string]*config.Component{"sinks": {"brevo": {Enabled: true, Spec: bc}}}}
	bc.Derive(cfg, &config.Problems{})
	if len(bc.ListsByShop) != 0 || bc.Lists != before.Lists || bc.Products != before.Products {
		t.Errorf("derive without a source changed the config: %+v %+v %+v", bc.Lists, bc.ListsByShop, bc.Products)
	}
}

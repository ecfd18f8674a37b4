package brevo

import "github.com/tajo/tajo/pipeline/config"

// ListsSource is a component config that names the Brevo lists of its
// shops' contacts: the seed writes them under connectors.shopify (lists,
// and each stores[].lists). shopify.Config satisfies it without either
// package importing the other; cmd/tajo asserts that it does.
type ListsSource interface {
	// EachLists calls fn with each shop's list ids, shop "" for every
	// shop; 0 is none.
	EachLists(fn func(shop string, allCustomers, buyers, abandonedCart int64))
}

// ProductsSource is a component config that holds the seed's
// sync.products (connectors.shopify.sync.products), which also decide how
// the sink builds Brevo products. It is the shape the transforms' product
// filter reads too (transforms.ProductSettings).
type ProductsSource interface {
	ProductSyncSettings() (enabled, includeVariants, includeImages, categoriesAsTags bool, status, excludeTags []string)
}

// Derive implements config.Deriver: what another enabled component's
// config says about the sink's lists and products, before validation.
//
//   - A ListsSource's lists for every shop → lists_by_shop["*"], and each
//     shop's → lists_by_shop[<shop>], under the key already written for
//     that shop in any case. What a user wrote in lists_by_shop wins id
//     by id, and sinks.brevo.lists, where non-zero, wins over both
//     (ListsFor).
//   - A ProductsSource's include_variants and include_images → Products.
func (c *SinkConfig) Derive(cfg *config.Config, _ *config.Problems) {
	cfg.Each(func(_ string, spec any) {
		if ls, ok := spec.(ListsSource); ok {
			ls.EachLists(func(shop string, all, buyers, carts int64) {
				if shop == "" {
					shop = AnyShop
				}
				c.addShopLists(shop, ListIDs{AllCustomers: all, Buyers: buyers, AbandonedCart: carts})
			})
		}
		if ps, ok := spec.(ProductsSource); ok {
			_, variants, images, _, _, _ := ps.ProductSyncSettings()
			c.Products = ProductOptions{IncludeVariants: variants, IncludeImages: images}
		}
	})
}

// addShopLists fills the ids lists_by_shop leaves at 0 for shop from ids.
func (c *SinkConfig) addShopLists(shop string, ids ListIDs) {
	if ids == (ListIDs{}) {
		return
	}
	key := shop
	for k := range c.ListsByShop {
		if k == shop || (shop != AnyShop && k != AnyShop && NormalizeShop(k) == NormalizeShop(shop)) {
			key = k
		}
	}
	if c.ListsByShop == nil {
		c.ListsByShop = map[string]ListIDs{}
	}
	c.ListsByShop[key] = c.ListsByShop[key].Or(ids)
}

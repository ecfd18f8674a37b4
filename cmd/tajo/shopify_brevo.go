package main

import (
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sources/shopify"
)

// What connectors.shopify tells sinks.brevo. The seed puts the Brevo list
// ids and the product sync settings under the connector; the sink cannot
// read the connector's configuration (connectors never depend on each
// other), so tajo copies them over before validation:
//
//   - connectors.shopify.lists → sinks.brevo.lists_by_shop["*"], and each
//     store's lists (stores[].lists, inheriting the top-level ones) →
//     lists_by_shop[<its shop_url>]. What a user wrote in lists_by_shop
//     wins id by id, and sinks.brevo.lists, where non-zero, wins over both.
//   - connectors.shopify.sync.products.include_variants and
//     include_images → how the sink builds Brevo products.
func init() { config.RegisterFixup(brevoFromShopify) }

func brevoFromShopify(cfg *config.Config, _ *config.Problems) {
	bcomp, scomp := cfg.Component("sinks", "brevo"), cfg.Component("connectors", "shopify")
	if bcomp == nil || scomp == nil {
		return
	}
	bc, ok := bcomp.Spec.(*brevo.SinkConfig)
	sc, ok2 := scomp.Spec.(*shopify.Config)
	if !ok || !ok2 {
		return
	}
	add := func(shop string, l shopify.Lists) {
		ids := brevo.ListIDs{AllCustomers: l.AllCustomers, Buyers: l.Buyers, AbandonedCart: l.AbandonedCart}
		if ids == (brevo.ListIDs{}) {
			return
		}
		key := shop
		for k := range bc.ListsByShop {
			if k == shop || (shop != brevo.AnyShop && k != brevo.AnyShop && brevo.NormalizeShop(k) == brevo.NormalizeShop(shop)) {
				key = k
			}
		}
		if bc.ListsByShop == nil {
			bc.ListsByShop = map[string]brevo.ListIDs{}
		}
		bc.ListsByShop[key] = bc.ListsByShop[key].Or(ids)
	}
	add(brevo.AnyShop, sc.Lists)
	for _, st := range sc.StoreList() {
		if st.Lists != nil {
			add(st.ShopURL, *st.Lists)
		}
	}
	p := sc.Sync.Products
	bc.Products = brevo.ProductOptions{IncludeVariants: p.IncludeVariants, IncludeImages: p.IncludeImages}
}

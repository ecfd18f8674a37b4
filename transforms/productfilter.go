package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// ProductFilterConfig is a product_filter stage's own key.
type ProductFilterConfig struct {
	// Products: the seed's sync.products settings; without them the
	// stage takes the connector's (withConnectorProducts).
	Products ProductSync `yaml:"products"`
}

// ProductSync mirrors the seed's connectors.shopify.sync.products.
type ProductSync struct {
	Enabled          *bool         `yaml:"enabled"`
	IncludeVariants  *bool         `yaml:"include_variants"`
	IncludeImages    *bool         `yaml:"include_images"`
	CategoriesAsTags bool          `yaml:"categories_as_tags"`
	Filter           ProductFilter `yaml:"filter"`
}

// ProductFilter selects which products sync.
type ProductFilter struct {
	Status      []string `yaml:"status"`
	ExcludeTags []string `yaml:"exclude_tags"`
}

func buildProductFilter(c *chain, s Stage, _ *expression.Program, path string, p *config.Problems) pipeline.Transform {
	for i, st := range s.Products.Filter.Status {
		p.OneOf(config.Join(path, "products", "filter", "status", i), st, "active", "draft", "archived", "unlisted")
	}
	return &productFilter{c: c, name: s.Name, cfg: s.Products}
}

// ProductSettings is implemented by a connector configuration that holds
// the seed's sync.products settings (connectors.shopify.sync.products), so
// users set them where the seed puts them and the chain applies them.
type ProductSettings interface {
	ProductSyncSettings() (enabled, includeVariants, includeImages, categoriesAsTags bool, status, excludeTags []string)
}

// withConnectorProducts puts the connector's product settings on the
// product path of every chain: product_filter stages that do not set
// products: take them, and a chain that lists none gets one first, so the
// seed's filter (status, exclude_tags) and categories_as_tags apply
// whatever stages are listed. A listed product_filter is the product path:
// nothing is added, so no product is filtered twice.
func withConnectorProducts(stages []Stage, ps ProductSettings) []Stage {
	enabled, variants, images, cats, status, exclude := ps.ProductSyncSettings()
	from := ProductSync{
		Enabled: &enabled, IncludeVariants: &variants, IncludeImages: &images, CategoriesAsTags: cats,
		Filter: ProductFilter{Status: status, ExcludeTags: exclude},
	}
	out := make([]Stage, 0, len(stages)+1)
	listed := false
	names := map[string]bool{}
	for _, s := range stages {
		names[s.Name] = true
		if s.Type == StageProductFilter {
			listed = true
			if reflect.DeepEqual(s.Products, ProductSync{}) {
				s.Products = from
			}
		}
		out = append(out, s)
	}
	if listed {
		return out
	}
	name := "products"
	for i := 2; names[name]; i++ {
		name = fmt.Sprintf("products_%d", i)
	}
	return append([]Stage{{Name: name, Type: StageProductFilter, ProductFilterConfig: ProductFilterConfig{Products: from}}}, out...)
}

// productFilter applies the seed's sync.products settings to product
// events; other events pass.
type productFilter struct {
	c    *chain
	name string
	cfg  ProductSync
}

func (f *productFilter) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	it, err := f.c.load(rec)
	if err != nil {
		return nil, err
	}
	if it.ev.Entity.Kind != schemas.KindProduct {
		return []*pipeline.Record{rec}, nil
	}
	if f.cfg.Enabled != nil && !*f.cfg.Enabled {
		return nil, f.c.skip(it, f.name, SkipProductFilter, "product sync is disabled")
	}
	p, ok := it.data.(*schemas.Product)
	if !ok {
		return []*pipeline.Record{rec}, nil // deletions always pass
	}
	if st := f.cfg.Filter.Status; len(st) > 0 && !containsFold(st, p.Status) {
		return nil, f.c.skip(it, f.name, SkipProductFilter, fmt.Sprintf("status %q is not in %v", p.Status, st))
	}
	for _, t := range f.cfg.Filter.ExcludeTags {
		if containsFold(p.Tags, t) {
			return nil, f.c.skip(it, f.name, SkipProductFilter, fmt.Sprintf("tag %q is excluded", t))
		}
	}
	changed := false
	if f.cfg.IncludeVariants != nil && !*f.cfg.IncludeVariants && len(p.Variants) > 0 {
		// The first variant carries the price Brevo shows.
		p.Variants, changed = p.Variants[:1], true
	}
	if f.cfg.IncludeImages != nil && !*f.cfg.IncludeImages && (len(p.Images) > 0 || p.Image != nil) {
		p.Images, p.Image, changed = nil, nil, true
	}
	if changed {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, pipeline.Reject("encode", err)
		}
		it.ev.Data = b
		it.ev.Modified()
		it.envDone = false
	}
	categories := []string(p.Tags)
	if !f.cfg.CategoriesAsTags {
		categories = nil
		if p.ProductType != "" {
			categories = []string{p.ProductType}
		}
	}
	if len(categories) > 0 {
		b, _, err := appendValue(nil, categories, it.shop.loc)
		if err != nil {
			return nil, pipeline.Reject("invalid_value", err)
		}
		it.out.set("categories", b)
		it.out.touched = true
	}
	if it.out.touched || changed {
		it.out.touched = true
		if err := it.write(rec); err != nil {
			return nil, err
		}
	}
	return []*pipeline.Record{rec}, nil
}

package brevo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// How a Shopify product becomes Brevo catalogue entries, under the seed's
// connectors.shopify.sync.products settings (ProductOptions, and the
// `categories` the product_filter transform writes):
//
//   - categories_as_tags: the product's tags are its Brevo categories (one
//     category per tag, created before the product); otherwise its product
//     type is.
//   - include_variants: every variant is a Brevo product too, with
//     parentId = the product's id, its own SKU, price and image, so an
//     order line's variantId names a product Brevo knows.
//   - include_images: imageUrl, the one image Brevo takes per product: the
//     product's cover, and for a variant its own image (else the cover).

// brevoProducts returns the catalogue entries of a product event: the
// product, then its variants; and the categories they name.
func brevoProducts(ev *schemas.Event, deleted bool, opts ProductOptions) ([]Product, []Category, error) {
	if deleted {
		d, err := dataOf[schemas.Deletion](ev)
		if err != nil || d.ID == 0 {
			return nil, nil, pipeline.Reject("invalid_event", fmt.Errorf("%s: no product id", ev.Type))
		}
		// Brevo needs a name to create, and a deletion may be the first it
		// hears of a product. Its variants are not named by the deletion,
		// so they stay (Brevo hides the children of a deleted parent).
		return []Product{{ID: d.ID.String(), Name: "product " + d.ID.String(), IsDeleted: true, DeletedAt: FormatTime(ev.OccurredAt)}}, nil, nil
	}
	p, err := dataOf[schemas.Product](ev)
	if err != nil || p.ID == 0 {
		return nil, nil, pipeline.Reject("invalid_event", fmt.Errorf("%s: no product id (%v)", ev.Type, err))
	}
	cats, err := productCategories(ev, p)
	if err != nil {
		return nil, nil, err
	}
	catIDs := make([]string, len(cats))
	for i, c := range cats {
		catIDs[i] = c.ID
	}
	out := &Product{ID: p.ID.String(), Name: first(p.Title, "product "+p.ID.String()), Categories: catIDs}
	if p.Handle != "" {
		out.URL = "https://" + ev.Shop + "/products/" + p.Handle
	}
	cover := coverImage(p)
	if opts.IncludeImages {
		out.ImageURL = cover
	}
	if len(p.Variants) > 0 {
		v := p.Variants[0]
		out.SKU = v.SKU
		price := v.Price.InexactFloat64()
		out.Price = &price
	}
	meta := map[string]string{}
	for k, v := range map[string]string{"vendor": p.Vendor, "product_type": p.ProductType, "status": p.Status, "shop": ev.Shop, "variants": strconv.Itoa(len(p.Variants))} {
		if v != "" {
			meta[k] = v
		}
	}
	out.MetaInfo = meta
	prods := []Product{*out}
	if !opts.IncludeVariants {
		return prods, cats, nil
	}
	for _, v := range p.Variants {
		if v.ID == 0 {
			continue
		}
		price := v.Price.InexactFloat64()
		vp := Product{ID: v.ID.String(), ParentID: out.ID, Name: variantName(out.Name, v.Title), SKU: v.SKU, Price: &price, Categories: catIDs}
		if out.URL != "" {
			vp.URL = out.URL + "?variant=" + v.ID.String()
		}
		if opts.IncludeImages {
			vp.ImageURL = first(variantImage(p, &v), cover)
		}
		vm := map[string]string{"shop": ev.Shop}
		for i, o := range []string{v.Option1, v.Option2, v.Option3} {
			if o != "" {
				vm["option"+strconv.Itoa(i+1)] = o
			}
		}
		if v.InventoryQuantity != nil {
			vm["inventory_quantity"] = strconv.FormatInt(*v.InventoryQuantity, 10)
		}
		vp.MetaInfo = vm
		prods = append(prods, vp)
	}
	return prods, cats, nil
}

// variantName is "Shirt - Red / M"; a product's only, untitled variant
// ("Default Title") keeps the product's name.
func variantName(product, variant string) string {
	if variant == "" || variant == "Default Title" {
		return product
	}
	return product + " - " + variant
}

// coverImage is the product's featured image, else its first by position.
func coverImage(p *schemas.Product) string {
	if p.Image != nil && p.Image.Src != "" {
		return p.Image.Src
	}
	imgs := slices.Clone(p.Images)
	slices.SortStableFunc(imgs, func(a, b schemas.Image) int { return int(a.Position - b.Position) })
	for _, im := range imgs {
		if im.Src != "" {
			return im.Src
		}
	}
	return ""
}

// variantImage is the image Shopify assigns to the variant, or "".
func variantImage(p *schemas.Product, v *schemas.Variant) string {
	for _, im := range p.Images {
		if (v.ImageID != 0 && im.ID == v.ImageID) || slices.Contains(im.VariantIDs, v.ID) {
			return im.Src
		}
	}
	return ""
}

// productCategories are the categories of a product: those the
// product_filter transform wrote (the tags, with categories_as_tags; else
// the product type), or without that stage the product type.
func productCategories(ev *schemas.Event, p *schemas.Product) ([]Category, error) {
	names, err := categoryNames(ev.Attributes)
	if err != nil {
		return nil, err
	}
	if names == nil && p.ProductType != "" {
		names = []string{p.ProductType}
	}
	var out []Category
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		c := Category{Name: n}
		if strings.EqualFold(n, strings.TrimSpace(p.ProductType)) {
			c.ID = "type-" + slug(n)
		} else {
			c.ID = "tag-" + slug(n)
			// Online Store themes list a tag's products here.
			c.URL = "https://" + ev.Shop + "/collections/all/" + slug(n)
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// categoryNames reads attributes.categories: a list of names (or one
// name); nil when absent.
func categoryNames(attrs json.RawMessage) ([]string, error) {
	if len(bytes.TrimSpace(attrs)) == 0 {
		return nil, nil
	}
	var a struct {
		Categories json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(attrs, &a); err != nil {
		return nil, pipeline.Reject("invalid_attributes", fmt.Errorf("attributes: %w", err))
	}
	if len(a.Categories) == 0 || string(a.Categories) == "null" {
		return nil, nil
	}
	var many []string
	if err := json.Unmarshal(a.Categories, &many); err == nil {
		return many, nil
	}
	var one string
	if err := json.Unmarshal(a.Categories, &one); err != nil {
		return nil, pipeline.Reject("invalid_attributes", fmt.Errorf("attributes.categories: want a list of names, got %s", a.Categories))
	}
	return strings.Split(one, ","), nil
}

// slug makes a stable category id part from a name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

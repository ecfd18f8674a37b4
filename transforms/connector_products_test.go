package transforms

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
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
		// A configured chain without a product_filter gets one: the
		// filter belongs to the product path, not to an optional stage.
		"connectors: {shopify: {status: [draft]}}\ntransforms: {stages: [{name: g, type: guard}]}\n":                                 true,
		"connectors: {shopify: {exclude: [Mens]}}\ntransforms: {stages: [{name: g, type: guard}, {name: c, type: field_mapping}]}\n": true,
		"connectors: {shopify: {status: [active]}}\ntransforms: {stages: [{name: g, type: guard}]}\n":                                false,
	} {
		c := newChain(t, yaml)
		if o := c.mustRun(record(t, ev)); (o == nil) != dropped {
			t.Errorf("%s: dropped %v, want %v", yaml, o == nil, dropped)
		}
	}
}

// The seed's case: the shipped pipeline.yaml lists its stages, and a draft
// product tagged hidden, wholesale-only must not reach the sinks; the
// skip names the product path's stage and the reason.
func TestSeedProductFilterWithListedStages(t *testing.T) {
	p := schemas.Product{ID: 77, Title: "Secret sample", Status: "draft", Tags: schemas.Tags{"hidden", "wholesale-only"}}
	ev := event(t, schemas.TypeProductCreated, "product", "77", t0, p)
	stages := "transforms: {stages: [{name: guard, type: guard}, {name: aggregates, type: aggregates}, {name: contact, type: field_mapping}]}\n"
	for _, tc := range []struct{ connector, reason string }{
		{"connectors: {shopify: {status: [active], exclude: [hidden, wholesale-only]}}\n", `product_filter: status "draft" is not in [active]`},
		{"connectors: {shopify: {exclude: [hidden, wholesale-only]}}\n", `product_filter: tag "hidden" is excluded`},
	} {
		c := newChain(t, tc.connector+stages)
		_, err := runChainNamed(c.ts, record(t, ev))
		if err == nil || !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "products: ") {
			t.Errorf("%s: got %v, want a skip by stage products: %s", tc.connector, err, tc.reason)
		}
	}
	// An active product without excluded tags passes the same chain.
	p.Status, p.Tags = "active", schemas.Tags{"summer"}
	c := newChain(t, "connectors: {shopify: {status: [active], exclude: [hidden]}}\n"+stages)
	if o := c.mustRun(record(t, event(t, schemas.TypeProductCreated, "product", "77", t0, p))); o == nil {
		t.Error("an active product was dropped")
	}
}

// A product_filter listed explicitly is the product path: the connector's
// settings fill it and no second filter is added.
func TestListedProductFilterRunsOnce(t *testing.T) {
	for _, yaml := range []string{
		"connectors: {shopify: {status: [active]}}\ntransforms: {stages: [{name: g, type: guard}, {name: p, type: product_filter}]}\n",
		"connectors: {shopify: {status: [active]}}\ntransforms: {stages: [{name: p, type: product_filter, products: {filter: {status: [draft]}}}]}\n",
		"connectors: {shopify: {status: [active]}}\n",
	} {
		c := newChain(t, yaml)
		n := 0
		for _, s := range c.ts {
			if _, ok := s.Transform.(*productFilter); ok {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d product filters in the chain, want 1", yaml, n)
		}
	}
}

// runChainNamed is runChain that returns skips as errors named by stage.
func runChainNamed(ts []pipeline.NamedTransform, rec *pipeline.Record) ([]*pipeline.Record, error) {
	cur := []*pipeline.Record{rec}
	for _, t := range ts {
		var next []*pipeline.Record
		for _, r := range cur {
			out, err := t.Process(context.Background(), r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			next = append(next, out...)
		}
		cur = next
	}
	return cur, nil
}

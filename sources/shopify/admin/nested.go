package admin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tajo/tajo/pipeline"
)

// maxNestedPages bounds the follow-up queries for one object (100
// children each): Shopify caps variants at 2048, and an order with 10,000
// lines is not one tajo can do anything sensible with.
const maxNestedPages = 100

// pageNode decodes one node of a page and, when a nested connection was
// cut at its page size, reads the rest before converting it: a page never
// hands out an order with part of its lines. Decoding errors come back
// unclassified, errors of the follow-up queries classified.
func (c *Client) pageNode(ctx context.Context, kind string, raw json.RawMessage) (Object, error) {
	switch kind {
	case KindOrder:
		var n orderNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		if err := completeNested(ctx, c, QueryOrderLineItems, "lineItems", n.ID, n.LineItems); err != nil {
			return Object{}, err
		}
		v, err := toOrder(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	case KindCheckout:
		var n checkoutNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		if err := completeNested(ctx, c, QueryCheckoutLineItems, "lineItems", n.ID, n.LineItems); err != nil {
			return Object{}, err
		}
		v, err := toCheckout(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	case KindProduct:
		var n productNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		if err := completeNested(ctx, c, QueryProductVariants, "variants", n.ID, n.Variants); err != nil {
			return Object{}, err
		}
		if err := completeNested(ctx, c, QueryProductMedia, "media", n.ID, n.Media); err != nil {
			return Object{}, err
		}
		v, err := toProduct(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	}
	return decodeNode(kind, raw)
}

// completeNested appends the children a nested page left out, following
// its cursor with node(id:) queries.
func completeNested[T any](ctx context.Context, c *Client, query, field, id string, conn *nodes[T]) error {
	after, more := conn.truncated()
	for pages := 0; more; pages++ {
		if pages >= maxNestedPages {
			return pipeline.Stop(fmt.Errorf("shopify admin: %s of %s: more than %d pages", field, id, maxNestedPages))
		}
		var data struct {
			Node map[string]json.RawMessage `json:"node"`
		}
		if err := c.Do(ctx, query, map[string]any{"id": id, "after": after}, 103, &data); err != nil {
			return err
		}
		raw, ok := data.Node[field]
		if !ok {
			// Deleted since the page was read: the next reconciliation
			// sees its deletion; this page cannot be completed now.
			return pipeline.Retry(fmt.Errorf("shopify admin: %s of %s: the object is gone", field, id))
		}
		var next nodes[T]
		if err := json.Unmarshal(raw, &next); err != nil {
			return pipeline.Stop(fmt.Errorf("shopify admin: %s of %s: %w", field, id, err))
		}
		conn.Nodes = append(conn.Nodes, next.Nodes...)
		after, more = next.truncated()
	}
	conn.PageInfo = nil
	return nil
}

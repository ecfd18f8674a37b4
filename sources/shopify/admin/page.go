package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// Cursor is where an incremental reconciliation stands, for one kind. It
// is plain data (JSON) for the caller to persist before acknowledging what
// it has handled; resuming from it neither skips nor, except for ties,
// repeats objects.
type Cursor struct {
	// Since is the lower bound (inclusive) of the current run's
	// updated_at filter. Inclusive, because a strict bound would skip
	// objects sharing the last seen timestamp (Airbyte's "checkpoint
	// collisions").
	Since time.Time `json:"since,omitzero"`
	// After is Shopify's page cursor within the current run's query.
	After string `json:"after,omitempty"`
	// UpdatedAt and ID are the last object handled, so a restarted run
	// skips what it already saw at Since.
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
	ID        schemas.ID `json:"id,omitempty"`
	// MaxUpdatedAt is the newest updated_at seen and RunStart when the
	// current run began. A kind that cannot be sorted by updated_at
	// (abandoned checkouts, read in id order) starts its next run at the
	// earlier of the two, less ClockSkew: an object updated during the run
	// behind the cursor is then read next time instead of being lost.
	MaxUpdatedAt time.Time `json:"max_updated_at,omitzero"`
	RunStart     time.Time `json:"run_start,omitzero"`
	// SettledBefore is the previous run's start less ClockSkew: no object
	// could still be written with an updated_at before it. Only objects
	// tied with the last one at such a settled time are skipped on the
	// next run; a tie at a recent second may be an object updated in that
	// same second after it was read, and is read again.
	SettledBefore time.Time `json:"settled_before,omitzero"`
}

// ClockSkew is the margin allowed between our clock and Shopify's.
const ClockSkew = 5 * time.Minute

// Object is one decoded object.
type Object struct {
	Kind      string
	ID        schemas.ID
	UpdatedAt time.Time
	// Value is *schemas.Customer, *schemas.Order, *schemas.Product or
	// *schemas.Checkout.
	Value any
}

// Page is one page of a reconciliation.
type Page struct {
	Objects []Object
	// Next is the cursor after this page: persist it once Objects are
	// handled, then ask for the next page with it.
	Next Cursor
	// More is false on the last page; Next then starts the next run from
	// the newest updated_at seen.
	More bool
}

// DefaultPageSize keeps each page query well under Shopify's 1000-point
// single query limit for every kind.
const DefaultPageSize = 25

// FetchPage reads the page after cur of kind (KindCustomer, KindOrder,
// KindProduct, KindCheckout): objects updated at or after cur.Since, in
// updated_at order (id order for checkouts). first is capped so the query
// costs at most 1000 points.
func (c *Client) FetchPage(ctx context.Context, kind string, cur Cursor, first int) (Page, error) {
	sp, ok := specs[kind]
	if !ok {
		return Page{}, pipeline.Stop(fmt.Errorf("shopify admin: unknown kind %q", kind))
	}
	if first <= 0 {
		first = DefaultPageSize
	}
	first = min(first, 250, int((1000-2)/sp.nodeCost))
	vars := map[string]any{"first": first, "sortKey": sp.sortKey}
	if !cur.Since.IsZero() {
		vars["query"] = fmt.Sprintf("updated_at:>='%s'", cur.Since.UTC().Format(time.RFC3339))
	}
	if cur.After != "" {
		vars["after"] = cur.After
	}
	var data map[string]struct {
		Nodes    []json.RawMessage `json:"nodes"`
		PageInfo struct {
			HasNextPage bool    `json:"hasNextPage"`
			EndCursor   *string `json:"endCursor"`
		} `json:"pageInfo"`
	}
	if err := c.Do(ctx, sp.page, vars, 2+float64(first)*sp.nodeCost, &data); err != nil {
		return Page{}, err
	}
	conn, ok := data[sp.root]
	if !ok {
		return Page{}, pipeline.Stop(fmt.Errorf("shopify admin: answer has no %s", sp.root))
	}
	next := cur
	if cur.After == "" && cur.RunStart.IsZero() {
		next.RunStart = time.Now().UTC()
	}
	p := Page{Objects: make([]Object, 0, len(conn.Nodes))}
	for i, raw := range conn.Nodes {
		obj, err := c.pageNode(ctx, kind, raw)
		var classified *pipeline.Error
		if errors.As(err, &classified) {
			return Page{}, err
		}
		if err != nil {
			return Page{}, pipeline.Stop(fmt.Errorf("shopify admin: %s page node %d: %w", sp.root, i, err))
		}
		if obj.UpdatedAt.After(next.MaxUpdatedAt) {
			next.MaxUpdatedAt = obj.UpdatedAt
		}
		// A new run re-reads the objects at Since; skip the ones the
		// cursor has already passed, when that is safe.
		if cur.After == "" && sp.byUpdated && !cur.UpdatedAt.IsZero() && cur.UpdatedAt.Before(cur.SettledBefore) && !after(obj, cur) {
			continue
		}
		p.Objects = append(p.Objects, obj)
		next.UpdatedAt, next.ID = obj.UpdatedAt, obj.ID
	}
	if conn.PageInfo.EndCursor != nil {
		next.After = *conn.PageInfo.EndCursor
	}
	p.More = conn.PageInfo.HasNextPage
	if !p.More {
		// Sorted by updated_at, an object updated during the run moved
		// ahead of the cursor and was read later in the run: the next run
		// starts at the last object. In id order it may have been passed.
		settled := next.RunStart.Add(-ClockSkew)
		next.Since = next.UpdatedAt
		if !sp.byUpdated {
			next.Since = next.MaxUpdatedAt
			if settled.Before(next.Since) {
				next.Since = settled
			}
		}
		next.After, next.RunStart, next.SettledBefore = "", time.Time{}, settled
	}
	p.Next = next
	return p, nil
}

// after reports whether o sorts after the cursor's last object.
func after(o Object, cur Cursor) bool {
	if !o.UpdatedAt.Equal(cur.UpdatedAt) {
		return o.UpdatedAt.After(cur.UpdatedAt)
	}
	return o.ID > cur.ID
}

// Reconcile reads every page of kind from cur to the end, calling fn with
// each page. fn must persist page.Next before acknowledging the objects;
// if fn fails, Reconcile stops and returns the error. It returns the
// cursor for the next run.
func (c *Client) Reconcile(ctx context.Context, kind string, cur Cursor, first int, fn func(Page) error) (Cursor, error) {
	for {
		p, err := c.FetchPage(ctx, kind, cur, first)
		if err != nil {
			return cur, err
		}
		if err := fn(p); err != nil {
			return cur, err
		}
		cur = p.Next
		if !p.More {
			return cur, nil
		}
	}
}

func decodeNode(kind string, raw json.RawMessage) (Object, error) {
	switch kind {
	case KindCustomer:
		var n customerNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		v, err := toCustomer(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	case KindOrder:
		var n orderNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		v, err := toOrder(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	case KindProduct:
		var n productNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		v, err := toProduct(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	case KindCheckout:
		var n checkoutNode
		if err := json.Unmarshal(raw, &n); err != nil {
			return Object{}, err
		}
		v, err := toCheckout(&n)
		if err != nil {
			return Object{}, err
		}
		return Object{kind, v.ID, v.UpdatedAt, v}, nil
	}
	return Object{}, fmt.Errorf("unknown kind %q", kind)
}

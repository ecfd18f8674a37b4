package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// FormatTime renders t the way Brevo's e-commerce routes document dates
// (UTC, second precision, "Z").
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Product is one item of POST /products/batch.
type Product struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	URL      string   `json:"url,omitempty"`
	ImageURL string   `json:"imageUrl,omitempty"`
	SKU      string   `json:"sku,omitempty"`
	Price    *float64 `json:"price,omitempty"`
	// Categories are category ids (see UpsertCategories).
	Categories []string `json:"categories,omitempty"`
	ParentID   string   `json:"parentId,omitempty"`
	// MetaInfo: at most 10 keys and 1000 KB in all.
	MetaInfo  map[string]string `json:"metaInfo,omitempty"`
	DeletedAt string            `json:"deletedAt,omitempty"`
	IsDeleted bool              `json:"isDeleted,omitempty"`
}

// Category is one item of POST /categories/batch.
type Category struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	URL       string `json:"url,omitempty"`
	DeletedAt string `json:"deletedAt,omitempty"`
	IsDeleted bool   `json:"isDeleted,omitempty"`
}

// BatchCounts is what the product and category batch routes report.
type BatchCounts struct {
	Created int64 `json:"createdCount"`
	Updated int64 `json:"updatedCount"`
	Calls   int   `json:"-"`
}

// OrderProduct is one line of an order.
type OrderProduct struct {
	ProductID string  `json:"productId"`
	VariantID string  `json:"variantId,omitempty"`
	Quantity  float64 `json:"quantity"`
	Price     float64 `json:"price"`
}

// OrderIdentifiers names the buyer in current Brevo docs; Email on Order is
// the older field the spec still lists. Either works.
type OrderIdentifiers struct {
	EmailID string `json:"email_id,omitempty"`
	ExtID   string `json:"ext_id,omitempty"`
	PhoneID string `json:"phone_id,omitempty"`
}

// Billing is an order's billing details.
type Billing struct {
	Address       string `json:"address,omitempty"`
	City          string `json:"city,omitempty"`
	CountryCode   string `json:"countryCode,omitempty"`
	Country       string `json:"country,omitempty"`
	Phone         string `json:"phone,omitempty"`
	PostCode      string `json:"postCode,omitempty"`
	PaymentMethod string `json:"paymentMethod,omitempty"`
	Region        string `json:"region,omitempty"`
}

// Order is the body of POST /orders/status and an item of its batch form.
// Dates are FormatTime strings.
type Order struct {
	ID          string            `json:"id"`
	CreatedAt   string            `json:"createdAt"`
	UpdatedAt   string            `json:"updatedAt"`
	Status      string            `json:"status"`
	Amount      float64           `json:"amount"`
	StoreID     string            `json:"storeId,omitempty"`
	Email       string            `json:"email,omitempty"`
	Identifiers *OrderIdentifiers `json:"identifiers,omitempty"`
	Products    []OrderProduct    `json:"products"`
	Billing     *Billing          `json:"billing,omitempty"`
	Coupons     []string          `json:"coupons,omitempty"`
}

func validateOrder(o *Order) error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"id", o.ID}, {"createdAt", o.CreatedAt}, {"updatedAt", o.UpdatedAt}, {"status", o.Status}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(o.Products) == 0 {
		missing = append(missing, "products")
	}
	for i, p := range o.Products {
		if p.ProductID == "" {
			missing = append(missing, fmt.Sprintf("products[%d].productId", i))
		}
	}
	if o.Email == "" && (o.Identifiers == nil || *o.Identifiers == OrderIdentifiers{}) && (o.Billing == nil || o.Billing.Phone == "") {
		missing = append(missing, "email (or identifiers, or billing.phone)")
	}
	if len(missing) > 0 {
		return pipeline.Reject("missing_parameter", fmt.Errorf("brevo order %q: missing %v", o.ID, missing))
	}
	return nil
}

func validateProduct(p *Product) error {
	if p.ID == "" {
		return pipeline.Reject("missing_parameter", errors.New("brevo product: id is required"))
	}
	if len(p.MetaInfo) > 10 {
		return pipeline.Reject("invalid_parameter", fmt.Errorf("brevo product %q: metaInfo has %d keys, Brevo allows 10", p.ID, len(p.MetaInfo)))
	}
	n := 0
	for k, v := range p.MetaInfo {
		n += len(k) + len(v)
	}
	if n > 1_000_000 {
		return pipeline.Reject("invalid_parameter", fmt.Errorf("brevo product %q: metaInfo is %d bytes, Brevo allows 1000 KB", p.ID, n))
	}
	return nil
}

// sendChunks validates n items, sends the valid ones in chunks of at most
// size, and returns per-item outcomes folded by batchOutcome. A Rejected
// chunk fails only its items; any other failure stops the remaining chunks.
func sendChunks(n, size int, validate func(i int) error, send func(idx []int) error) error {
	errs := make([]error, n)
	var valid []int
	for i := 0; i < n; i++ {
		if err := validate(i); err != nil {
			errs[i] = err
			continue
		}
		valid = append(valid, i)
	}
	var stop error
	for _, r := range chunk(len(valid), size) {
		idx := valid[r[0]:r[1]]
		err := stop
		if err == nil {
			err = send(idx)
			if err != nil && pipeline.ClassOf(err) != pipeline.Rejected {
				stop = err
			}
		}
		for _, i := range idx {
			errs[i] = err
		}
	}
	return batchOutcome(errs)
}

// UpsertProducts creates or updates products, MaxProductsPerBatch per call
// (updateEnabled is always set: redelivery must not fail on "exists"). Brevo
// refuses a payload with a repeated id, so when an id repeats only its last
// occurrence is sent and the earlier ones share its outcome.
func (c *Client) UpsertProducts(ctx context.Context, products []Product) (BatchCounts, error) {
	var counts BatchCounts
	last := map[string]int{}
	for i, p := range products {
		last[p.ID] = i
	}
	err := sendChunks(len(products), MaxProductsPerBatch,
		func(i int) error {
			if err := validateProduct(&products[i]); err != nil {
				return err
			}
			if last[products[i].ID] != i {
				return errSuperseded
			}
			return nil
		},
		func(idx []int) error {
			batch := make([]Product, len(idx))
			for k, i := range idx {
				batch[k] = products[i]
			}
			var out BatchCounts
			_, err := c.postJSON(ctx, "POST /products/batch", "/products/batch", struct {
				Products      []Product `json:"products"`
				UpdateEnabled bool      `json:"updateEnabled"`
			}{batch, true}, &out)
			if err == nil {
				counts.Created += out.Created
				counts.Updated += out.Updated
				counts.Calls++
			}
			return err
		})
	return counts, resolveSuperseded(err, len(products), func(i int) int { return last[products[i].ID] })
}

// UpsertCategories creates or updates categories, 100 per call (Brevo
// documents no limit; the product one is the safe guess).
func (c *Client) UpsertCategories(ctx context.Context, cats []Category) (BatchCounts, error) {
	var counts BatchCounts
	err := sendChunks(len(cats), MaxProductsPerBatch,
		func(i int) error {
			if cats[i].ID == "" {
				return pipeline.Reject("missing_parameter", errors.New("brevo category: id is required"))
			}
			return nil
		},
		func(idx []int) error {
			batch := make([]Category, len(idx))
			for k, i := range idx {
				batch[k] = cats[i]
			}
			var out BatchCounts
			_, err := c.postJSON(ctx, "POST /categories/batch", "/categories/batch", struct {
				Categories    []Category `json:"categories"`
				UpdateEnabled bool       `json:"updateEnabled"`
			}{batch, true}, &out)
			if err == nil {
				counts.Created += out.Created
				counts.Updated += out.Updated
				counts.Calls++
			}
			return err
		})
	return counts, err
}

// SendOrder posts one order status (POST /orders/status → 204). Live orders
// go here: they can trigger automations.
func (c *Client) SendOrder(ctx context.Context, o Order) error {
	if err := validateOrder(&o); err != nil {
		return err
	}
	_, err := c.postJSON(ctx, "POST /orders/status", "/orders/status", o, nil)
	return err
}

// SendOrders posts orders through /orders/status/batch, MaxOrdersPerBatch per
// call, and returns Brevo's batch ids. historical=true (Brevo's default, and
// what a backfill wants) keeps them from triggering automations.
func (c *Client) SendOrders(ctx context.Context, orders []Order, historical bool) ([]string, error) {
	var ids []string
	err := sendChunks(len(orders), MaxOrdersPerBatch,
		func(i int) error { return validateOrder(&orders[i]) },
		func(idx []int) error {
			batch := make([]Order, len(idx))
			for k, i := range idx {
				batch[k] = orders[i]
			}
			var out struct {
				BatchID json.Number `json:"batchId"`
			}
			_, err := c.postJSON(ctx, "POST /orders/status/batch", "/orders/status/batch", struct {
				Orders     []Order `json:"orders"`
				Historical bool    `json:"historical"`
			}{batch, historical}, &out)
			if err == nil {
				ids = append(ids, out.BatchID.String())
			}
			return err
		})
	return ids, err
}

// errSuperseded marks an item replaced by a later one with the same id.
var errSuperseded = errors.New("superseded by a later item with the same id")

// resolveSuperseded gives superseded items the outcome of the item that
// replaced them.
func resolveSuperseded(err error, n int, winner func(i int) int) error {
	var be *pipeline.BatchError
	if err == nil || !errors.As(err, &be) {
		if err == errSuperseded {
			return nil
		}
		return err
	}
	for i := 0; i < n; i++ {
		if be.Errs[i] == errSuperseded {
			be.Errs[i] = be.Errs[winner(i)]
		}
	}
	return batchOutcome(be.Errs)
}

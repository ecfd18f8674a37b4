package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Order is a placed order. Field names follow Shopify's REST and webhook
// payloads. Money fields are in the shop currency (Currency); the
// presentment amounts of the *_set variants are left in the raw payload.
//
// The join key to a checkout is CheckoutToken = Checkout.Token; CartToken
// joins it to a cart.
type Order struct {
	ID                ID     `json:"id"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id,omitempty"`
	Name              string `json:"name,omitempty"`
	Number            int64  `json:"number,omitempty"`
	OrderNumber       int64  `json:"order_number,omitempty"`
	Email             string `json:"email,omitempty"`
	ContactEmail      string `json:"contact_email,omitempty"`
	Phone             string `json:"phone,omitempty"`
	Token             string `json:"token,omitempty"`
	CheckoutToken     string `json:"checkout_token,omitempty"`
	CartToken         string `json:"cart_token,omitempty"`
	// BuyerAcceptsMarketing is the buyer's choice at checkout, not the
	// customer's current consent.
	BuyerAcceptsMarketing bool   `json:"buyer_accepts_marketing"`
	Currency              string `json:"currency,omitempty"`
	PresentmentCurrency   string `json:"presentment_currency,omitempty"`
	FinancialStatus       string `json:"financial_status,omitempty"`
	FulfillmentStatus     string `json:"fulfillment_status,omitempty"`
	CancelReason          string `json:"cancel_reason,omitempty"`
	Test                  bool   `json:"test,omitempty"`
	Confirmed             bool   `json:"confirmed,omitempty"`
	SourceName            string `json:"source_name,omitempty"`
	LandingSite           string `json:"landing_site,omitempty"`
	ReferringSite         string `json:"referring_site,omitempty"`
	CustomerLocale        string `json:"customer_locale,omitempty"`
	OrderStatusURL        string `json:"order_status_url,omitempty"`
	Note                  string `json:"note,omitempty"`
	Tags                  Tags   `json:"tags,omitempty"`
	NoteAttributes        Attrs  `json:"note_attributes,omitempty"`

	CreatedAt   time.Time  `json:"created_at,omitzero"`
	UpdatedAt   time.Time  `json:"updated_at,omitzero"`
	ProcessedAt time.Time  `json:"processed_at,omitzero"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`

	TotalPrice          Money `json:"total_price"`
	SubtotalPrice       Money `json:"subtotal_price"`
	TotalTax            Money `json:"total_tax"`
	TotalDiscounts      Money `json:"total_discounts"`
	TotalLineItemsPrice Money `json:"total_line_items_price"`
	// The current_* totals reflect edits and refunds after the order was
	// placed; older payloads lack them.
	CurrentTotalPrice     *Money    `json:"current_total_price,omitempty"`
	CurrentSubtotalPrice  *Money    `json:"current_subtotal_price,omitempty"`
	CurrentTotalTax       *Money    `json:"current_total_tax,omitempty"`
	CurrentTotalDiscounts *Money    `json:"current_total_discounts,omitempty"`
	TotalOutstanding      *Money    `json:"total_outstanding,omitempty"`
	TotalShippingPriceSet *MoneySet `json:"total_shipping_price_set,omitempty"`

	DiscountCodes   []DiscountCode `json:"discount_codes,omitempty"`
	LineItems       []LineItem     `json:"line_items,omitempty"`
	ShippingLines   []ShippingLine `json:"shipping_lines,omitempty"`
	Customer        *Customer      `json:"customer,omitempty"`
	BillingAddress  *Address       `json:"billing_address,omitempty"`
	ShippingAddress *Address       `json:"shipping_address,omitempty"`
	Fulfillments    []Fulfillment  `json:"fulfillments,omitempty"`
	Refunds         []Refund       `json:"refunds,omitempty"`
}

// MoneySet is Shopify's pair of amounts in the shop and presentment
// currencies.
type MoneySet struct {
	ShopMoney        MoneyAmount `json:"shop_money"`
	PresentmentMoney MoneyAmount `json:"presentment_money"`
}

// MoneyAmount is an amount with its currency.
type MoneyAmount struct {
	Amount       Money  `json:"amount"`
	CurrencyCode string `json:"currency_code,omitempty"`
}

// LineItem is one line of an order, checkout, cart or fulfillment. Each
// payload fills the fields it has: checkouts and carts identify lines by
// Key, orders by ID.
type LineItem struct {
	ID                  ID     `json:"id,omitempty"`
	Key                 string `json:"key,omitempty"`
	ProductID           ID     `json:"product_id,omitempty"`
	VariantID           ID     `json:"variant_id,omitempty"`
	Title               string `json:"title,omitempty"`
	Name                string `json:"name,omitempty"`
	VariantTitle        string `json:"variant_title,omitempty"`
	SKU                 string `json:"sku,omitempty"`
	Vendor              string `json:"vendor,omitempty"`
	Quantity            int64  `json:"quantity"`
	CurrentQuantity     *int64 `json:"current_quantity,omitempty"`
	FulfillableQuantity *int64 `json:"fulfillable_quantity,omitempty"`
	FulfillmentStatus   string `json:"fulfillment_status,omitempty"`
	Grams               int64  `json:"grams,omitempty"`
	GiftCard            bool   `json:"gift_card,omitempty"`
	Taxable             bool   `json:"taxable,omitempty"`
	RequiresShipping    bool   `json:"requires_shipping,omitempty"`
	ProductExists       *bool  `json:"product_exists,omitempty"`
	// Price is the unit price.
	Price           Money  `json:"price"`
	TotalDiscount   *Money `json:"total_discount,omitempty"`
	LinePrice       *Money `json:"line_price,omitempty"`
	OriginalPrice   *Money `json:"original_price,omitempty"`
	DiscountedPrice *Money `json:"discounted_price,omitempty"`
	CompareAtPrice  *Money `json:"compare_at_price,omitempty"`
	Properties      Attrs  `json:"properties,omitempty"`
}

// Attr is a name/value pair: an order's note attribute or a line item
// property. Storefronts put tracking ids here (cart tokens, pixel client
// ids), so values are kept as sent.
type Attr struct {
	Name  Text `json:"name"`
	Value Text `json:"value"`
}

// Attrs is a list of Attr. Orders send [{"name":…,"value":…}], carts and
// checkouts may send an object {"name": value}; both decode, an object in
// key order so the result is deterministic.
type Attrs []Attr

// UnmarshalJSON accepts an array of {name, value}, an object, or null.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*a = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var list []Attr
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
		*a = list
		return nil
	case len(b) > 0 && b[0] == '{':
		var m map[string]Text
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
		out := make(Attrs, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, Attr{Name: Text(k), Value: m[k]})
		}
		*a = out
		return nil
	}
	return errors.New("attributes: want an array or an object")
}

// DiscountCode is a code applied to an order or checkout.
type DiscountCode struct {
	Code   string `json:"code"`
	Amount *Money `json:"amount,omitempty"`
	Type   string `json:"type,omitempty"`
}

// ShippingLine is a shipping method chosen for an order.
type ShippingLine struct {
	ID              ID     `json:"id,omitempty"`
	Title           string `json:"title,omitempty"`
	Code            string `json:"code,omitempty"`
	Source          string `json:"source,omitempty"`
	Price           Money  `json:"price"`
	DiscountedPrice *Money `json:"discounted_price,omitempty"`
}

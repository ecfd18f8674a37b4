package schemas

import "time"

// Checkout is a buyer's checkout. It is abandoned when CompletedAt stays
// nil and no order with CheckoutToken = Token follows; Token is the join
// key to the order, CartToken to the cart.
type Checkout struct {
	// ID is absent from some payloads (Shopify's own checkouts/create
	// sample has only Token), so consumers key on Token when ID is 0.
	ID                       ID         `json:"id,omitempty"`
	Token                    string     `json:"token,omitempty"`
	CartToken                string     `json:"cart_token,omitempty"`
	Name                     string     `json:"name,omitempty"`
	Email                    string     `json:"email,omitempty"`
	Phone                    string     `json:"phone,omitempty"`
	SMSMarketingPhone        string     `json:"sms_marketing_phone,omitempty"`
	BuyerAcceptsMarketing    bool       `json:"buyer_accepts_marketing"`
	BuyerAcceptsSMSMarketing bool       `json:"buyer_accepts_sms_marketing"`
	AbandonedCheckoutURL     string     `json:"abandoned_checkout_url,omitempty"`
	Currency                 string     `json:"currency,omitempty"`
	PresentmentCurrency      string     `json:"presentment_currency,omitempty"`
	CustomerLocale           string     `json:"customer_locale,omitempty"`
	SourceName               string     `json:"source_name,omitempty"`
	LandingSite              string     `json:"landing_site,omitempty"`
	ReferringSite            string     `json:"referring_site,omitempty"`
	Note                     string     `json:"note,omitempty"`
	NoteAttributes           Attrs      `json:"note_attributes,omitempty"`
	CreatedAt                time.Time  `json:"created_at,omitzero"`
	UpdatedAt                time.Time  `json:"updated_at,omitzero"`
	CompletedAt              *time.Time `json:"completed_at,omitempty"`
	ClosedAt                 *time.Time `json:"closed_at,omitempty"`

	TotalPrice          Money `json:"total_price"`
	SubtotalPrice       Money `json:"subtotal_price"`
	TotalTax            Money `json:"total_tax"`
	TotalDiscounts      Money `json:"total_discounts"`
	TotalLineItemsPrice Money `json:"total_line_items_price"`

	DiscountCodes   []DiscountCode `json:"discount_codes,omitempty"`
	LineItems       []LineItem     `json:"line_items,omitempty"`
	Customer        *Customer      `json:"customer,omitempty"`
	BillingAddress  *Address       `json:"billing_address,omitempty"`
	ShippingAddress *Address       `json:"shipping_address,omitempty"`
}

// Cart is an online-store cart. Shopify's cart webhooks carry no buyer
// identity: a cart is tied to a person only through its token appearing on
// a checkout (CartToken) or in storefront events.
type Cart struct {
	ID        Text       `json:"id"`
	Token     string     `json:"token,omitempty"`
	Note      string     `json:"note,omitempty"`
	LineItems []LineItem `json:"line_items,omitempty"`
	CreatedAt time.Time  `json:"created_at,omitzero"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

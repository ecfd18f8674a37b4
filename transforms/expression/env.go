package expression

import (
	"time"

	"github.com/tajo/tajo/schemas"
)

// Env is what every expression sees. Its field names (the expr tags) are
// the names users write, snake_case like Shopify's payloads, and its types
// are what the compiler checks against: customer.frist_name fails
// `tajo validate`, not a record at run time.
//
// Every view is set, never nil: an event about an order has a zero
// checkout and product, so customer.first_name on a product event is ""
// rather than a run-time error. A zero id (customer.id == 0) means absent.
// They are pointers because expr boxes what it fetches: a struct value
// would be copied into an interface at every field access.
type Env struct {
	Event    *EventView    `expr:"event"`
	Customer *CustomerView `expr:"customer"`
	Order    *OrderView    `expr:"order"`
	Checkout *CheckoutView `expr:"checkout"`
	Product  *ProductView  `expr:"product"`
	Shop     *ShopView     `expr:"shop"`
	// Now is the time the record is processed, in the shop's time zone.
	Now time.Time `expr:"now"`
}

// EventView is the envelope.
type EventView struct {
	ID         string    `expr:"id"`
	Type       string    `expr:"type"`
	Topic      string    `expr:"topic"`
	Source     string    `expr:"source"`
	Shop       string    `expr:"shop"`
	Kind       string    `expr:"kind"`
	EntityID   string    `expr:"entity_id"`
	OccurredAt time.Time `expr:"occurred_at"`
	ReceivedAt time.Time `expr:"received_at"`
	APIVersion string    `expr:"api_version"`
}

// CustomerView is the customer the event is about, with the aggregates
// tajo keeps for it (orders_count … products), since current Shopify
// customer payloads carry none of them.
type CustomerView struct {
	ID                int64       `expr:"id"`
	Email             string      `expr:"email"`
	FirstName         string      `expr:"first_name"`
	LastName          string      `expr:"last_name"`
	Phone             string      `expr:"phone"`
	State             string      `expr:"state"`
	Note              string      `expr:"note"`
	Currency          string      `expr:"currency"`
	Locale            string      `expr:"locale"`
	VerifiedEmail     bool        `expr:"verified_email"`
	TaxExempt         bool        `expr:"tax_exempt"`
	Tags              []string    `expr:"tags"`
	CreatedAt         time.Time   `expr:"created_at"`
	UpdatedAt         time.Time   `expr:"updated_at"`
	DefaultAddress    AddressView `expr:"default_address"`
	EmailConsent      string      `expr:"email_consent"`
	EmailOptInLevel   string      `expr:"email_opt_in_level"`
	SMSConsent        string      `expr:"sms_consent"`
	AcceptsMarketing  bool        `expr:"accepts_marketing"`
	OrdersCount       int         `expr:"orders_count"`
	TotalSpent        Decimal     `expr:"total_spent"`
	AverageOrderValue Decimal     `expr:"average_order_value"`
	FirstOrderAt      time.Time   `expr:"first_order_at"`
	LastOrderAt       time.Time   `expr:"last_order_at"`
	// AggregatesKnown is false when tajo has seen neither an order, a
	// purchasing summary nor legacy counters for this customer: then
	// orders_count 0 means "unknown", not "never ordered".
	AggregatesKnown bool              `expr:"aggregates_known"`
	Products        []ProductPurchase `expr:"products"`
}

// ProductPurchase is one product in a customer's purchase history, what a
// replenishment reminder needs.
type ProductPurchase struct {
	ProductID int64     `expr:"product_id" json:"p"`
	Orders    int       `expr:"orders" json:"o"`
	Quantity  int64     `expr:"quantity" json:"q"`
	FirstAt   time.Time `expr:"first_at" json:"f"`
	LastAt    time.Time `expr:"last_at" json:"l"`
}

// AddressView is a postal address.
type AddressView struct {
	FirstName    string `expr:"first_name"`
	LastName     string `expr:"last_name"`
	Company      string `expr:"company"`
	Address1     string `expr:"address1"`
	Address2     string `expr:"address2"`
	City         string `expr:"city"`
	Province     string `expr:"province"`
	ProvinceCode string `expr:"province_code"`
	Country      string `expr:"country"`
	CountryCode  string `expr:"country_code"`
	Zip          string `expr:"zip"`
	Phone        string `expr:"phone"`
}

// OrderView is an order (order_* events); refunds show the order id only.
type OrderView struct {
	ID                int64     `expr:"id"`
	Name              string    `expr:"name"`
	Email             string    `expr:"email"`
	Phone             string    `expr:"phone"`
	Currency          string    `expr:"currency"`
	FinancialStatus   string    `expr:"financial_status"`
	FulfillmentStatus string    `expr:"fulfillment_status"`
	CustomerLocale    string    `expr:"customer_locale"`
	SourceName        string    `expr:"source_name"`
	Tags              []string  `expr:"tags"`
	Test              bool      `expr:"test"`
	BuyerAccepts      bool      `expr:"buyer_accepts_marketing"`
	TotalPrice        Decimal   `expr:"total_price"`
	SubtotalPrice     Decimal   `expr:"subtotal_price"`
	TotalTax          Decimal   `expr:"total_tax"`
	TotalDiscounts    Decimal   `expr:"total_discounts"`
	LineCount         int       `expr:"line_count"`
	DiscountCodes     []string  `expr:"discount_codes"`
	CreatedAt         time.Time `expr:"created_at"`
	UpdatedAt         time.Time `expr:"updated_at"`
	CancelledAt       time.Time `expr:"cancelled_at"`
	// Refunded is the amount of the refund event (order_refunded only).
	Refunded Decimal `expr:"refunded"`
}

// CheckoutView is a checkout.
type CheckoutView struct {
	ID                   int64     `expr:"id"`
	Token                string    `expr:"token"`
	Email                string    `expr:"email"`
	Phone                string    `expr:"phone"`
	AbandonedCheckoutURL string    `expr:"abandoned_checkout_url"`
	Currency             string    `expr:"currency"`
	CustomerLocale       string    `expr:"customer_locale"`
	BuyerAccepts         bool      `expr:"buyer_accepts_marketing"`
	BuyerAcceptsSMS      bool      `expr:"buyer_accepts_sms_marketing"`
	TotalPrice           Decimal   `expr:"total_price"`
	LineCount            int       `expr:"line_count"`
	CreatedAt            time.Time `expr:"created_at"`
	UpdatedAt            time.Time `expr:"updated_at"`
	CompletedAt          time.Time `expr:"completed_at"`
}

// ProductView is a catalogue product.
type ProductView struct {
	ID          int64     `expr:"id"`
	Title       string    `expr:"title"`
	Handle      string    `expr:"handle"`
	Vendor      string    `expr:"vendor"`
	ProductType string    `expr:"product_type"`
	Status      string    `expr:"status"`
	Tags        []string  `expr:"tags"`
	Price       Decimal   `expr:"price"`
	Variants    int       `expr:"variants"`
	Images      int       `expr:"images"`
	CreatedAt   time.Time `expr:"created_at"`
	UpdatedAt   time.Time `expr:"updated_at"`
}

// ShopView is the shop of the event and its settings in the transforms
// section.
type ShopView struct {
	Domain   string `expr:"domain"`
	Timezone string `expr:"timezone"`
	// Country is the default country (ISO 3166 alpha-2) for phone numbers
	// written without an international prefix.
	Country string `expr:"country"`
}

// Decimal is an exact amount in expressions. Arithmetic on it is a compile
// error on purpose: money(x) turns it into a float where a Brevo attribute
// needs one, so rounding happens once, visibly.
type Decimal = schemas.Money

// FillCustomer sets v from c, the customer the event is about; the
// aggregate fields are the caller's. A nil c leaves v as it is.
func FillCustomer(c *schemas.Customer, v *CustomerView) {
	if c == nil {
		return
	}
	v.ID = int64(c.ID)
	v.Email = c.Email
	v.FirstName = c.FirstName
	v.LastName = c.LastName
	v.Phone = c.Phone
	v.State = c.State
	v.Note = c.Note
	v.Currency = c.Currency
	v.Locale = c.Locale
	v.VerifiedEmail = c.VerifiedEmail
	v.TaxExempt = c.TaxExempt
	v.Tags = c.Tags
	v.CreatedAt = c.CreatedAt
	v.UpdatedAt = c.UpdatedAt
	if a := c.DefaultAddress; a != nil {
		addressView(a, &v.DefaultAddress)
	} else {
		for i := range c.Addresses {
			if c.Addresses[i].Default {
				addressView(&c.Addresses[i], &v.DefaultAddress)
			}
		}
	}
	v.EmailConsent = c.EmailMarketingState()
	if e := c.EmailMarketingConsent; e != nil {
		v.EmailOptInLevel = e.OptInLevel
	} else {
		v.EmailOptInLevel = c.MarketingOptInLevel
	}
	if s := c.SMSMarketingConsent; s != nil {
		v.SMSConsent = s.State
	}
	v.AcceptsMarketing = v.EmailConsent == schemas.ConsentSubscribed
}

func addressView(a *schemas.Address, v *AddressView) {
	*v = AddressView{
		FirstName: a.FirstName, LastName: a.LastName, Company: a.Company,
		Address1: a.Address1, Address2: a.Address2, City: a.City,
		Province: a.Province, ProvinceCode: a.ProvinceCode, Country: a.Country,
		CountryCode: a.CountryCode, Zip: a.Zip, Phone: a.Phone,
	}
}

// FillOrder sets v from o.
func FillOrder(o *schemas.Order, v *OrderView) {
	*v = OrderView{
		ID: int64(o.ID), Name: o.Name, Email: o.Email, Phone: o.Phone, Currency: o.Currency,
		FinancialStatus: o.FinancialStatus, FulfillmentStatus: o.FulfillmentStatus,
		CustomerLocale: o.CustomerLocale, SourceName: o.SourceName, Tags: o.Tags, Test: o.Test,
		BuyerAccepts: o.BuyerAcceptsMarketing, TotalPrice: o.TotalPrice, SubtotalPrice: o.SubtotalPrice,
		TotalTax: o.TotalTax, TotalDiscounts: o.TotalDiscounts, LineCount: len(o.LineItems),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if o.CancelledAt != nil {
		v.CancelledAt = *o.CancelledAt
	}
	for _, d := range o.DiscountCodes {
		v.DiscountCodes = append(v.DiscountCodes, d.Code)
	}
}

// FillCheckout sets v from c.
func FillCheckout(c *schemas.Checkout, v *CheckoutView) {
	*v = CheckoutView{
		ID: int64(c.ID), Token: c.Token, Email: c.Email, Phone: c.Phone,
		AbandonedCheckoutURL: c.AbandonedCheckoutURL, Currency: c.Currency,
		CustomerLocale: c.CustomerLocale, BuyerAccepts: c.BuyerAcceptsMarketing,
		BuyerAcceptsSMS: c.BuyerAcceptsSMSMarketing, TotalPrice: c.TotalPrice,
		LineCount: len(c.LineItems), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.CompletedAt != nil {
		v.CompletedAt = *c.CompletedAt
	}
}

// FillProduct sets v from p; price is the first variant's.
func FillProduct(p *schemas.Product, v *ProductView) {
	*v = ProductView{
		ID: int64(p.ID), Title: p.Title, Handle: p.Handle, Vendor: p.Vendor,
		ProductType: p.ProductType, Status: p.Status, Tags: p.Tags,
		Variants: len(p.Variants), Images: len(p.Images), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if len(p.Variants) > 0 {
		v.Price = p.Variants[0].Price
	}
}

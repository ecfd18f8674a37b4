package shopifytest

import (
	"fmt"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// The types below are the Admin GraphQL shapes the simulator answers with:
// camelCase fields, GIDs, MoneyV2 bags, SCREAMING enums. They are written
// from the canonical objects so a client that decodes them correctly gets
// back exactly CustomerAt/OrderAt/… .

type gMoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

type gMoneyBag struct {
	ShopMoney gMoney `json:"shopMoney"`
}

type gRef struct {
	ID string `json:"id"`
}

type gConsent struct {
	MarketingState      string     `json:"marketingState"`
	MarketingOptInLevel string     `json:"marketingOptInLevel"`
	ConsentUpdatedAt    *time.Time `json:"consentUpdatedAt"`
}

type gAddress struct {
	ID            string `json:"id"`
	FirstName     string `json:"firstName,omitempty"`
	LastName      string `json:"lastName,omitempty"`
	Name          string `json:"name,omitempty"`
	Company       string `json:"company,omitempty"`
	Address1      string `json:"address1,omitempty"`
	Address2      string `json:"address2,omitempty"`
	City          string `json:"city,omitempty"`
	Province      string `json:"province,omitempty"`
	ProvinceCode  string `json:"provinceCode,omitempty"`
	Country       string `json:"country,omitempty"`
	CountryCodeV2 string `json:"countryCodeV2,omitempty"`
	Zip           string `json:"zip,omitempty"`
	Phone         string `json:"phone,omitempty"`
}

type gEmail struct {
	EmailAddress string `json:"emailAddress"`
}

type gPhone struct {
	PhoneNumber string `json:"phoneNumber"`
}

// gCustomer carries email and phone the current way (defaultEmailAddress,
// defaultPhoneNumber); Customer.email and .phone are deprecated since
// API 2025-04.
type gCustomer struct {
	ID                    string    `json:"id"`
	Email                 *gEmail   `json:"defaultEmailAddress"`
	Phone                 *gPhone   `json:"defaultPhoneNumber,omitempty"`
	FirstName             string    `json:"firstName"`
	LastName              string    `json:"lastName"`
	State                 string    `json:"state,omitempty"`
	Note                  *string   `json:"note,omitempty"`
	Locale                string    `json:"locale,omitempty"`
	VerifiedEmail         bool      `json:"verifiedEmail"`
	TaxExempt             bool      `json:"taxExempt"`
	CreatedAt             time.Time `json:"createdAt,omitzero"`
	UpdatedAt             time.Time `json:"updatedAt,omitzero"`
	Tags                  []string  `json:"tags,omitempty"`
	NumberOfOrders        string    `json:"numberOfOrders,omitempty"`
	AmountSpent           *gMoney   `json:"amountSpent,omitempty"`
	DefaultAddress        *gAddress `json:"defaultAddress,omitempty"`
	EmailMarketingConsent *gConsent `json:"emailMarketingConsent,omitempty"`
}

type gLineItem struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name,omitempty"`
	Title                string    `json:"title"`
	VariantTitle         string    `json:"variantTitle,omitempty"`
	SKU                  string    `json:"sku,omitempty"`
	Vendor               string    `json:"vendor,omitempty"`
	Quantity             int64     `json:"quantity"`
	Product              *gRef     `json:"product"`
	Variant              *gRef     `json:"variant"`
	OriginalUnitPriceSet gMoneyBag `json:"originalUnitPriceSet"`
	ParentID             string    `json:"__parentId,omitempty"`
}

type gNodes[T any] struct {
	Nodes    []T       `json:"nodes"`
	PageInfo *pageInfo `json:"pageInfo,omitempty"`
}

// childPage pages a nested connection: first children from start, with
// a cursor naming the field.
func childPage[T any](field string, all []T, first, start int) *gNodes[T] {
	start = min(start, len(all))
	end := min(len(all), start+first)
	p := &gNodes[T]{Nodes: append([]T{}, all[start:end]...), PageInfo: &pageInfo{HasNextPage: end < len(all)}}
	if end > start {
		c := encodeCursor(field, end-1)
		p.PageInfo.EndCursor = &c
	}
	return p
}

type gAttr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type gOrder struct {
	ID                       string             `json:"id"`
	Name                     string             `json:"name"`
	Email                    *string            `json:"email"`
	CreatedAt                time.Time          `json:"createdAt"`
	UpdatedAt                time.Time          `json:"updatedAt"`
	ProcessedAt              time.Time          `json:"processedAt"`
	CancelledAt              *time.Time         `json:"cancelledAt"`
	CancelReason             *string            `json:"cancelReason"`
	DisplayFinancialStatus   string             `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string             `json:"displayFulfillmentStatus"`
	CurrencyCode             string             `json:"currencyCode"`
	PresentmentCurrencyCode  string             `json:"presentmentCurrencyCode"`
	Test                     bool               `json:"test"`
	Confirmed                bool               `json:"confirmed"`
	SourceName               string             `json:"sourceName,omitempty"`
	CustomerLocale           string             `json:"customerLocale,omitempty"`
	CustomerAcceptsMarketing bool               `json:"customerAcceptsMarketing"`
	Tags                     []string           `json:"tags"`
	CustomAttributes         []gAttr            `json:"customAttributes"`
	TotalPriceSet            gMoneyBag          `json:"totalPriceSet"`
	SubtotalPriceSet         gMoneyBag          `json:"subtotalPriceSet"`
	TotalTaxSet              gMoneyBag          `json:"totalTaxSet"`
	TotalDiscountsSet        gMoneyBag          `json:"totalDiscountsSet"`
	CurrentTotalPriceSet     *gMoneyBag         `json:"currentTotalPriceSet"`
	Customer                 *gCustomer         `json:"customer"`
	LineItems                *gNodes[gLineItem] `json:"lineItems,omitempty"`
}

type gVariant struct {
	ID                string    `json:"id"`
	Title             string    `json:"title"`
	SKU               string    `json:"sku,omitempty"`
	Position          int64     `json:"position"`
	Price             string    `json:"price"`
	CompareAtPrice    *string   `json:"compareAtPrice"`
	SelectedOptions   []gOption `json:"selectedOptions"`
	InventoryItem     *gRef     `json:"inventoryItem"`
	InventoryQuantity *int64    `json:"inventoryQuantity"`
	InventoryPolicy   string    `json:"inventoryPolicy"`
	Taxable           bool      `json:"taxable"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	ParentID          string    `json:"__parentId,omitempty"`
}

type gOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type gMedia struct {
	ID               string  `json:"id"`
	MediaContentType string  `json:"mediaContentType"`
	Image            *gImage `json:"image"`
	ParentID         string  `json:"__parentId,omitempty"`
}

type gImage struct {
	URL     string `json:"url"`
	AltText string `json:"altText,omitempty"`
	Width   int64  `json:"width"`
	Height  int64  `json:"height"`
}

type gProduct struct {
	ID              string            `json:"id"`
	Title           string            `json:"title"`
	Handle          string            `json:"handle"`
	DescriptionHTML string            `json:"descriptionHtml"`
	Vendor          string            `json:"vendor"`
	ProductType     string            `json:"productType"`
	Status          string            `json:"status"`
	Tags            []string          `json:"tags"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
	PublishedAt     *time.Time        `json:"publishedAt"`
	Variants        *gNodes[gVariant] `json:"variants,omitempty"`
	Media           *gNodes[gMedia]   `json:"media,omitempty"`
}

type gCheckout struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	AbandonedCheckoutURL string             `json:"abandonedCheckoutUrl"`
	CreatedAt            time.Time          `json:"createdAt"`
	UpdatedAt            time.Time          `json:"updatedAt"`
	CompletedAt          *time.Time         `json:"completedAt"`
	Note                 *string            `json:"note"`
	Customer             *gCustomer         `json:"customer"`
	TotalPriceSet        gMoneyBag          `json:"totalPriceSet"`
	SubtotalPriceSet     gMoneyBag          `json:"subtotalPriceSet"`
	TotalTaxSet          gMoneyBag          `json:"totalTaxSet"`
	TotalDiscountSet     gMoneyBag          `json:"totalDiscountSet"`
	LineItems            *gNodes[gLineItem] `json:"lineItems,omitempty"`
}

func gid(kind string, id schemas.ID) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func email(s string) *gEmail {
	if s == "" {
		return nil
	}
	return &gEmail{s}
}

func phone(s string) *gPhone {
	if s == "" {
		return nil
	}
	return &gPhone{s}
}

func bag(m schemas.Money, cur string) gMoneyBag {
	return gMoneyBag{ShopMoney: gMoney{m.StringFixed(2), cur}}
}

func upper(s string) string { return strings.ToUpper(s) }

func customerNode(c *schemas.Customer) *gCustomer {
	g := &gCustomer{
		ID: c.AdminGraphQLAPIID, Email: email(c.Email), Phone: phone(c.Phone),
		FirstName: c.FirstName, LastName: c.LastName, State: upper(c.State), Note: optStr(c.Note),
		Locale: c.Locale, VerifiedEmail: c.VerifiedEmail, TaxExempt: c.TaxExempt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Tags: c.Tags,
	}
	if c.OrdersCount != nil {
		g.NumberOfOrders = fmt.Sprint(int64(*c.OrdersCount))
	}
	if c.TotalSpent != nil {
		g.AmountSpent = &gMoney{c.TotalSpent.StringFixed(2), c.Currency}
	}
	if a := c.DefaultAddress; a != nil {
		g.DefaultAddress = &gAddress{
			ID:        fmt.Sprintf("gid://shopify/MailingAddress/%d?model_name=CustomerAddress", a.ID),
			FirstName: a.FirstName, LastName: a.LastName, Name: a.Name, Company: a.Company,
			Address1: a.Address1, Address2: a.Address2, City: a.City, Province: a.Province,
			ProvinceCode: a.ProvinceCode, Country: a.Country, CountryCodeV2: a.CountryCode, Zip: a.Zip, Phone: a.Phone,
		}
	}
	if e := c.EmailMarketingConsent; e != nil {
		g.EmailMarketingConsent = &gConsent{upper(e.State), upper(e.OptInLevel), e.ConsentUpdatedAt}
	}
	return g
}

func lineItemNode(kind string, l schemas.LineItem, cur string) gLineItem {
	return gLineItem{
		ID: gid(kind, l.ID), Name: l.Name, Title: l.Title, VariantTitle: l.VariantTitle, SKU: l.SKU,
		Vendor: l.Vendor, Quantity: l.Quantity,
		Product: &gRef{gid("Product", l.ProductID)}, Variant: &gRef{gid("ProductVariant", l.VariantID)},
		OriginalUnitPriceSet: bag(l.Price, cur),
	}
}

var fulfillment = map[string]string{"": "UNFULFILLED", "fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}

// orderNode leaves out the line items: page answers nest them, bulk
// answers put them on their own lines.
func orderNode(o *schemas.Order) *gOrder {
	g := &gOrder{
		ID: o.AdminGraphQLAPIID, Name: o.Name, Email: optStr(o.Email),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, ProcessedAt: o.ProcessedAt,
		CancelledAt: o.CancelledAt, CancelReason: optStr(upper(o.CancelReason)),
		DisplayFinancialStatus: upper(o.FinancialStatus), DisplayFulfillmentStatus: fulfillment[o.FulfillmentStatus],
		CurrencyCode: o.Currency, PresentmentCurrencyCode: o.PresentmentCurrency,
		Test: o.Test, Confirmed: o.Confirmed, SourceName: o.SourceName, CustomerLocale: o.CustomerLocale,
		CustomerAcceptsMarketing: o.BuyerAcceptsMarketing, Tags: o.Tags,
		TotalPriceSet: bag(o.TotalPrice, o.Currency), SubtotalPriceSet: bag(o.SubtotalPrice, o.Currency),
		TotalTaxSet: bag(o.TotalTax, o.Currency), TotalDiscountsSet: bag(o.TotalDiscounts, o.Currency),
	}
	if g.Tags == nil {
		g.Tags = []string{}
	}
	g.CustomAttributes = []gAttr{}
	for _, a := range o.NoteAttributes {
		g.CustomAttributes = append(g.CustomAttributes, gAttr{string(a.Name), string(a.Value)})
	}
	if o.CurrentTotalPrice != nil {
		g.CurrentTotalPriceSet = ptr(bag(*o.CurrentTotalPrice, o.Currency))
	}
	if o.Customer != nil {
		g.Customer = &gCustomer{ID: o.Customer.AdminGraphQLAPIID, Email: email(o.Customer.Email),
			FirstName: o.Customer.FirstName, LastName: o.Customer.LastName}
	}
	return g
}

func variantNode(v schemas.Variant) gVariant {
	g := gVariant{
		ID: v.AdminGraphQLAPIID, Title: v.Title, SKU: v.SKU, Position: v.Position,
		Price: v.Price.StringFixed(2), SelectedOptions: []gOption{{"Size", v.Option1}},
		InventoryItem: &gRef{gid("InventoryItem", v.InventoryItemID)}, InventoryQuantity: v.InventoryQuantity,
		InventoryPolicy: upper(v.InventoryPolicy), Taxable: v.Taxable, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
	}
	if v.CompareAtPrice != nil {
		g.CompareAtPrice = ptr(v.CompareAtPrice.StringFixed(2))
	}
	return g
}

func imageNode(im schemas.Image) gMedia {
	return gMedia{ID: gid("MediaImage", im.ID), MediaContentType: "IMAGE",
		Image: &gImage{URL: im.Src, AltText: im.Alt, Width: im.Width, Height: im.Height}}
}

func productNode(p *schemas.Product) *gProduct {
	tags := []string(p.Tags)
	if tags == nil {
		tags = []string{}
	}
	return &gProduct{
		ID: p.AdminGraphQLAPIID, Title: p.Title, Handle: p.Handle, DescriptionHTML: p.BodyHTML,
		Vendor: p.Vendor, ProductType: p.ProductType, Status: upper(p.Status), Tags: tags,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, PublishedAt: p.PublishedAt,
	}
}

func checkoutNode(c *schemas.Checkout) *gCheckout {
	g := &gCheckout{
		ID: gid("AbandonedCheckout", c.ID), Name: c.Name, AbandonedCheckoutURL: c.AbandonedCheckoutURL,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CompletedAt: c.CompletedAt, Note: optStr(c.Note),
		TotalPriceSet: bag(c.TotalPrice, c.Currency), SubtotalPriceSet: bag(c.SubtotalPrice, c.Currency),
		TotalTaxSet: bag(c.TotalTax, c.Currency), TotalDiscountSet: bag(c.TotalDiscounts, c.Currency),
	}
	if c.Customer != nil {
		g.Customer = &gCustomer{ID: c.Customer.AdminGraphQLAPIID, Email: email(c.Customer.Email),
			FirstName: c.Customer.FirstName, LastName: c.Customer.LastName}
	}
	return g
}

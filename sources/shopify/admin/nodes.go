package admin

import (
	"fmt"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// GraphQL node shapes as the queries select them. Scalars that Shopify may
// null are pointers or decode null to their zero value; ids stay strings
// (GIDs) until ParseGID turns them into exact int64s.

type moneyV2 struct {
	Amount       schemas.Money `json:"amount"`
	CurrencyCode string        `json:"currencyCode"`
}

type moneyBag struct {
	ShopMoney moneyV2 `json:"shopMoney"`
}

type ref struct {
	ID string `json:"id"`
}

type consentNode struct {
	MarketingState      string     `json:"marketingState"`
	MarketingOptInLevel string     `json:"marketingOptInLevel"`
	ConsentUpdatedAt    *time.Time `json:"consentUpdatedAt"`
}

type addressNode struct {
	ID            string `json:"id"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	Name          string `json:"name"`
	Company       string `json:"company"`
	Address1      string `json:"address1"`
	Address2      string `json:"address2"`
	City          string `json:"city"`
	Province      string `json:"province"`
	ProvinceCode  string `json:"provinceCode"`
	Country       string `json:"country"`
	CountryCodeV2 string `json:"countryCodeV2"`
	Zip           string `json:"zip"`
	Phone         string `json:"phone"`
}

// customerNode reads email and phone from defaultEmailAddress and
// defaultPhoneNumber: Customer.email and .phone are deprecated since API
// 2025-04. The old fields are still decoded, for answers that carry them.
type customerNode struct {
	ID                    string         `json:"id"`
	DefaultEmailAddress   *emailNode     `json:"defaultEmailAddress"`
	DefaultPhoneNumber    *phoneNode     `json:"defaultPhoneNumber"`
	Email                 string         `json:"email"`
	Phone                 string         `json:"phone"`
	FirstName             string         `json:"firstName"`
	LastName              string         `json:"lastName"`
	State                 string         `json:"state"`
	Note                  string         `json:"note"`
	Locale                string         `json:"locale"`
	VerifiedEmail         bool           `json:"verifiedEmail"`
	TaxExempt             bool           `json:"taxExempt"`
	CreatedAt             time.Time      `json:"createdAt"`
	UpdatedAt             time.Time      `json:"updatedAt"`
	Tags                  schemas.Tags   `json:"tags"`
	NumberOfOrders        *schemas.Count `json:"numberOfOrders"`
	AmountSpent           *moneyV2       `json:"amountSpent"`
	DefaultAddress        *addressNode   `json:"defaultAddress"`
	EmailMarketingConsent *consentNode   `json:"emailMarketingConsent"`
	ParentID              string         `json:"__parentId"`
}

type emailNode struct {
	EmailAddress string `json:"emailAddress"`
}

type phoneNode struct {
	PhoneNumber string `json:"phoneNumber"`
}

func (n *customerNode) email() string {
	if n.DefaultEmailAddress != nil && n.DefaultEmailAddress.EmailAddress != "" {
		return n.DefaultEmailAddress.EmailAddress
	}
	return n.Email
}

func (n *customerNode) phone() string {
	if n.DefaultPhoneNumber != nil && n.DefaultPhoneNumber.PhoneNumber != "" {
		return n.DefaultPhoneNumber.PhoneNumber
	}
	return n.Phone
}

type lineItemNode struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Title                string   `json:"title"`
	VariantTitle         string   `json:"variantTitle"`
	SKU                  string   `json:"sku"`
	Vendor               string   `json:"vendor"`
	Quantity             int64    `json:"quantity"`
	Product              *ref     `json:"product"`
	Variant              *ref     `json:"variant"`
	OriginalUnitPriceSet moneyBag `json:"originalUnitPriceSet"`
	ParentID             string   `json:"__parentId"`
}

type nodes[T any] struct {
	Nodes    []T           `json:"nodes"`
	PageInfo *pageInfoNode `json:"pageInfo"`
}

type pageInfoNode struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// truncated reports whether a nested page left children out, and where
// to continue.
func (n *nodes[T]) truncated() (string, bool) {
	if n == nil || n.PageInfo == nil || !n.PageInfo.HasNextPage {
		return "", false
	}
	return n.PageInfo.EndCursor, true
}

type attrNode struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type orderNode struct {
	ID                       string               `json:"id"`
	Name                     string               `json:"name"`
	Email                    string               `json:"email"`
	CreatedAt                time.Time            `json:"createdAt"`
	UpdatedAt                time.Time            `json:"updatedAt"`
	ProcessedAt              time.Time            `json:"processedAt"`
	CancelledAt              *time.Time           `json:"cancelledAt"`
	CancelReason             string               `json:"cancelReason"`
	DisplayFinancialStatus   string               `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string               `json:"displayFulfillmentStatus"`
	CurrencyCode             string               `json:"currencyCode"`
	PresentmentCurrencyCode  string               `json:"presentmentCurrencyCode"`
	Test                     bool                 `json:"test"`
	Confirmed                bool                 `json:"confirmed"`
	SourceName               string               `json:"sourceName"`
	CustomerLocale           string               `json:"customerLocale"`
	CustomerAcceptsMarketing bool                 `json:"customerAcceptsMarketing"`
	Tags                     schemas.Tags         `json:"tags"`
	CustomAttributes         []attrNode           `json:"customAttributes"`
	TotalPriceSet            moneyBag             `json:"totalPriceSet"`
	SubtotalPriceSet         moneyBag             `json:"subtotalPriceSet"`
	TotalTaxSet              moneyBag             `json:"totalTaxSet"`
	TotalDiscountsSet        moneyBag             `json:"totalDiscountsSet"`
	CurrentTotalPriceSet     *moneyBag            `json:"currentTotalPriceSet"`
	Customer                 *customerNode        `json:"customer"`
	LineItems                *nodes[lineItemNode] `json:"lineItems"`
	ParentID                 string               `json:"__parentId"`
}

type variantNode struct {
	ID                string         `json:"id"`
	Title             string         `json:"title"`
	SKU               string         `json:"sku"`
	Position          int64          `json:"position"`
	Price             schemas.Money  `json:"price"`
	CompareAtPrice    *schemas.Money `json:"compareAtPrice"`
	SelectedOptions   []attrNode     `json:"selectedOptions"`
	InventoryItem     *ref           `json:"inventoryItem"`
	InventoryQuantity *int64         `json:"inventoryQuantity"`
	InventoryPolicy   string         `json:"inventoryPolicy"`
	Taxable           bool           `json:"taxable"`
	CreatedAt         time.Time      `json:"createdAt"`
	UpdatedAt         time.Time      `json:"updatedAt"`
}

// mediaNode is a product medium; only images (MediaImage) have image.
type mediaNode struct {
	ID               string     `json:"id"`
	MediaContentType string     `json:"mediaContentType"`
	Image            *imageData `json:"image"`
}

type imageData struct {
	URL     string `json:"url"`
	AltText string `json:"altText"`
	Width   int64  `json:"width"`
	Height  int64  `json:"height"`
}

// productChild is a variant or a media line of a bulk result: the two
// share only id, so one struct decodes either and the GID type says which.
type productChild struct {
	variantNode
	MediaContentType string     `json:"mediaContentType"`
	Image            *imageData `json:"image"`
	ParentID         string     `json:"__parentId"`
}

type productNode struct {
	ID              string              `json:"id"`
	Title           string              `json:"title"`
	Handle          string              `json:"handle"`
	DescriptionHTML string              `json:"descriptionHtml"`
	Vendor          string              `json:"vendor"`
	ProductType     string              `json:"productType"`
	Status          string              `json:"status"`
	Tags            schemas.Tags        `json:"tags"`
	CreatedAt       time.Time           `json:"createdAt"`
	UpdatedAt       time.Time           `json:"updatedAt"`
	PublishedAt     *time.Time          `json:"publishedAt"`
	Variants        *nodes[variantNode] `json:"variants"`
	Media           *nodes[mediaNode]   `json:"media"`
	ParentID        string              `json:"__parentId"`
}

type checkoutNode struct {
	ID                   string               `json:"id"`
	Name                 string               `json:"name"`
	AbandonedCheckoutURL string               `json:"abandonedCheckoutUrl"`
	CreatedAt            time.Time            `json:"createdAt"`
	UpdatedAt            time.Time            `json:"updatedAt"`
	CompletedAt          *time.Time           `json:"completedAt"`
	Note                 string               `json:"note"`
	Customer             *customerNode        `json:"customer"`
	TotalPriceSet        moneyBag             `json:"totalPriceSet"`
	SubtotalPriceSet     moneyBag             `json:"subtotalPriceSet"`
	TotalTaxSet          moneyBag             `json:"totalTaxSet"`
	TotalDiscountSet     moneyBag             `json:"totalDiscountSet"`
	LineItems            *nodes[lineItemNode] `json:"lineItems"`
	ParentID             string               `json:"__parentId"`
}

// gidOf parses a required GID, naming the field in the error.
func gidOf(field, gid string) (schemas.ID, error) {
	if gid == "" {
		return 0, fmt.Errorf("%s: missing id", field)
	}
	id, err := schemas.ParseGID(gid)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return id, nil
}

// optGID parses an optional reference (a deleted product is null).
func optGID(field string, r *ref) (schemas.ID, error) {
	if r == nil || r.ID == "" {
		return 0, nil
	}
	return gidOf(field, r.ID)
}

// gidType is the object type of a GID: "LineItem" for
// gid://shopify/LineItem/1.
func gidType(gid string) string {
	rest, _ := strings.CutPrefix(gid, "gid://shopify/")
	t, _, _ := strings.Cut(rest, "/")
	return t
}

// lower turns a GraphQL enum into the REST spelling the canonical objects
// use: SINGLE_OPT_IN → single_opt_in.
func lower(s string) string { return strings.ToLower(s) }

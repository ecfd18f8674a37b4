package admin

import (
	"fmt"

	"github.com/tajo/tajo/schemas"
)

// The functions below turn GraphQL nodes into canonical objects: GIDs to
// exact int64 ids, MoneyV2 to decimals in the shop currency, enums to the
// REST spellings webhooks use, so a backfilled object and a webhook of the
// same object look alike downstream.

func toCustomer(n *customerNode) (*schemas.Customer, error) {
	id, err := gidOf("customer id", n.ID)
	if err != nil {
		return nil, err
	}
	c := &schemas.Customer{
		ID: id, AdminGraphQLAPIID: n.ID, Email: n.email(), MissingEmail: n.email() == "",
		Phone: n.phone(), FirstName: n.FirstName, LastName: n.LastName, State: lower(n.State),
		Note: n.Note, Locale: n.Locale, VerifiedEmail: n.VerifiedEmail, TaxExempt: n.TaxExempt,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, Tags: n.Tags, OrdersCount: n.NumberOfOrders,
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if n.AmountSpent != nil {
		c.TotalSpent, c.Currency = &n.AmountSpent.Amount, n.AmountSpent.CurrencyCode
	}
	if a := n.DefaultAddress; a != nil {
		aid, err := gidOf("customer defaultAddress id", a.ID)
		if err != nil {
			return nil, err
		}
		c.DefaultAddress = &schemas.Address{
			ID: aid, FirstName: a.FirstName, LastName: a.LastName, Name: a.Name, Company: a.Company,
			Address1: a.Address1, Address2: a.Address2, City: a.City, Province: a.Province,
			ProvinceCode: a.ProvinceCode, Country: a.Country, CountryCode: a.CountryCodeV2, Zip: a.Zip, Phone: a.Phone,
		}
	}
	if e := n.EmailMarketingConsent; e != nil {
		c.EmailMarketingConsent = &schemas.EmailMarketingConsent{
			State: lower(e.MarketingState), OptInLevel: lower(e.MarketingOptInLevel), ConsentUpdatedAt: e.ConsentUpdatedAt,
		}
	}
	return c, nil
}

// toCustomerRef converts the short customer of an order or checkout.
func toCustomerRef(n *customerNode) (*schemas.Customer, error) {
	if n == nil {
		return nil, nil
	}
	id, err := gidOf("customer id", n.ID)
	if err != nil {
		return nil, err
	}
	return &schemas.Customer{ID: id, AdminGraphQLAPIID: n.ID, Email: n.email(), FirstName: n.FirstName, LastName: n.LastName}, nil
}

func toLineItem(n *lineItemNode) (schemas.LineItem, error) {
	id, err := gidOf("line item id", n.ID)
	if err != nil {
		return schemas.LineItem{}, err
	}
	pid, err := optGID("line item product", n.Product)
	if err != nil {
		return schemas.LineItem{}, err
	}
	vid, err := optGID("line item variant", n.Variant)
	if err != nil {
		return schemas.LineItem{}, err
	}
	return schemas.LineItem{
		ID: id, ProductID: pid, VariantID: vid, Title: n.Title, Name: n.Name, VariantTitle: n.VariantTitle,
		SKU: n.SKU, Vendor: n.Vendor, Quantity: n.Quantity, Price: n.OriginalUnitPriceSet.ShopMoney.Amount,
	}, nil
}

var fulfillmentStatus = map[string]string{
	"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": "", "": "",
}

func toOrder(n *orderNode) (*schemas.Order, error) {
	id, err := gidOf("order id", n.ID)
	if err != nil {
		return nil, err
	}
	o := &schemas.Order{
		ID: id, AdminGraphQLAPIID: n.ID, Name: n.Name, Email: n.Email,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, ProcessedAt: n.ProcessedAt, CancelledAt: n.CancelledAt,
		CancelReason: lower(n.CancelReason), FinancialStatus: lower(n.DisplayFinancialStatus),
		Currency: n.CurrencyCode, PresentmentCurrency: n.PresentmentCurrencyCode, Test: n.Test, Confirmed: n.Confirmed,
		SourceName: n.SourceName, CustomerLocale: n.CustomerLocale, BuyerAcceptsMarketing: n.CustomerAcceptsMarketing,
		Tags:       n.Tags,
		TotalPrice: n.TotalPriceSet.ShopMoney.Amount, SubtotalPrice: n.SubtotalPriceSet.ShopMoney.Amount,
		TotalTax: n.TotalTaxSet.ShopMoney.Amount, TotalDiscounts: n.TotalDiscountsSet.ShopMoney.Amount,
	}
	if len(o.Tags) == 0 {
		o.Tags = nil
	}
	fs, ok := fulfillmentStatus[n.DisplayFulfillmentStatus]
	if !ok {
		fs = lower(n.DisplayFulfillmentStatus)
	}
	o.FulfillmentStatus = fs
	for _, a := range n.CustomAttributes {
		o.NoteAttributes = append(o.NoteAttributes, schemas.Attr{Name: schemas.Text(a.Key), Value: schemas.Text(a.Value)})
	}
	if n.CurrentTotalPriceSet != nil {
		o.CurrentTotalPrice = &n.CurrentTotalPriceSet.ShopMoney.Amount
	}
	if o.Customer, err = toCustomerRef(n.Customer); err != nil {
		return nil, fmt.Errorf("order %s: %w", n.ID, err)
	}
	if n.LineItems != nil {
		for i := range n.LineItems.Nodes {
			if err := addOrderLine(o, &n.LineItems.Nodes[i]); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

func addOrderLine(o *schemas.Order, n *lineItemNode) error {
	li, err := toLineItem(n)
	if err != nil {
		return fmt.Errorf("order %d: %w", o.ID, err)
	}
	o.LineItems = append(o.LineItems, li)
	return nil
}

func toProduct(n *productNode) (*schemas.Product, error) {
	id, err := gidOf("product id", n.ID)
	if err != nil {
		return nil, err
	}
	p := &schemas.Product{
		ID: id, AdminGraphQLAPIID: n.ID, Title: n.Title, Handle: n.Handle, BodyHTML: n.DescriptionHTML,
		Vendor: n.Vendor, ProductType: n.ProductType, Status: lower(n.Status), Tags: n.Tags,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, PublishedAt: n.PublishedAt,
	}
	if len(p.Tags) == 0 {
		p.Tags = nil
	}
	if n.Variants != nil {
		for i := range n.Variants.Nodes {
			if err := addVariant(p, &n.Variants.Nodes[i]); err != nil {
				return nil, err
			}
		}
	}
	if n.Media != nil {
		for i := range n.Media.Nodes {
			if err := addMedia(p, &n.Media.Nodes[i]); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func addVariant(p *schemas.Product, n *variantNode) error {
	id, err := gidOf("variant id", n.ID)
	if err != nil {
		return fmt.Errorf("product %d: %w", p.ID, err)
	}
	inv, err := optGID("variant inventoryItem", n.InventoryItem)
	if err != nil {
		return fmt.Errorf("product %d: %w", p.ID, err)
	}
	v := schemas.Variant{
		ID: id, AdminGraphQLAPIID: n.ID, ProductID: p.ID, Title: n.Title, SKU: n.SKU, Position: n.Position,
		Price: n.Price, CompareAtPrice: n.CompareAtPrice, InventoryItemID: inv, InventoryQuantity: n.InventoryQuantity,
		InventoryPolicy: lower(n.InventoryPolicy), Taxable: n.Taxable, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt,
	}
	for i, o := range n.SelectedOptions {
		switch i {
		case 0:
			v.Option1 = o.Value
		case 1:
			v.Option2 = o.Value
		case 2:
			v.Option3 = o.Value
		}
	}
	p.Variants = append(p.Variants, v)
	return nil
}

// addMedia keeps images; videos and 3D models have no place in the
// canonical product.
func addMedia(p *schemas.Product, n *mediaNode) error {
	id, err := gidOf("media id", n.ID)
	if err != nil {
		return fmt.Errorf("product %d: %w", p.ID, err)
	}
	if n.Image == nil {
		return nil
	}
	im := n.Image
	p.Images = append(p.Images, schemas.Image{
		ID: id, ProductID: p.ID, Position: int64(len(p.Images) + 1), Src: im.URL, Alt: im.AltText, Width: im.Width, Height: im.Height,
	})
	return nil
}

func toCheckout(n *checkoutNode) (*schemas.Checkout, error) {
	id, err := gidOf("abandoned checkout id", n.ID)
	if err != nil {
		return nil, err
	}
	c := &schemas.Checkout{
		ID: id, Name: n.Name, AbandonedCheckoutURL: n.AbandonedCheckoutURL, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt,
		CompletedAt: n.CompletedAt, Note: n.Note, Currency: n.TotalPriceSet.ShopMoney.CurrencyCode,
		TotalPrice: n.TotalPriceSet.ShopMoney.Amount, SubtotalPrice: n.SubtotalPriceSet.ShopMoney.Amount,
		TotalTax: n.TotalTaxSet.ShopMoney.Amount, TotalDiscounts: n.TotalDiscountSet.ShopMoney.Amount,
	}
	if c.Customer, err = toCustomerRef(n.Customer); err != nil {
		return nil, fmt.Errorf("abandoned checkout %s: %w", n.ID, err)
	}
	if c.Customer != nil {
		c.Email = c.Customer.Email
	}
	if n.LineItems != nil {
		for i := range n.LineItems.Nodes {
			if err := addCheckoutLine(c, &n.LineItems.Nodes[i]); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func addCheckoutLine(c *schemas.Checkout, n *lineItemNode) error {
	li, err := toLineItem(n)
	if err != nil {
		return fmt.Errorf("abandoned checkout %d: %w", c.ID, err)
	}
	c.LineItems = append(c.LineItems, li)
	return nil
}

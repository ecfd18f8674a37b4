package shopifytest

import (
	"fmt"
	"time"

	"github.com/tajo/tajo/schemas"
)

// Id bases. Customers, orders, line items and variants sit above 2^53 on
// purpose: a client that routes ids through float64 gets them wrong.
// variantBase is 2^53+1, the first integer a float64 cannot hold.
const (
	customerBase     = 706405506930370084
	addressBase      = 207119551
	orderBase        = 820982911946154508
	lineItemBase     = 866550311766439020
	productBase      = 632910392
	variantBase      = 9007199254740993
	inventoryBase    = 39072856
	imageBase        = 850703190
	checkoutBase     = 450789469
	checkoutLineBase = 5007199254740993
)

// epoch anchors every generated timestamp so runs are reproducible.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	firstNames = []string{"Zoë", "José", "Ólafur", "李", "Мария", "Søren", "Ana", "Seán", "Émilie", "محمد", "Bob", "Ngọc"}
	lastNames  = []string{"Biller", "Müller", "O'Brien", "Nuñez", "王", "Иванова", "Łukasz", "Dubois", "Smith", "Ōtsuka"}
	products   = []string{"Crème brûlée mug", "T-shirt 🌊", "Ski jacket", "Café au lait beans", "Ёлка ornament", "抹茶 tin", "Snowboard", "Gift card"}
	locales    = []string{"en", "fr", "ja", "de"}
	sizes      = []string{"S", "M", "L"}
)

// kinds seed the hash so customer 7 and order 7 differ.
const (
	hCustomer = iota + 1
	hOrder
	hProduct
	hCheckout
	hLine
)

// hash is splitmix64 over (seed, kind, i): every field of object i is a
// pure function of its index, so nothing is stored and any object can be
// produced out of order.
func (s *Store) hash(kind, i int) uint64 {
	x := s.opts.Seed ^ uint64(kind)<<56 ^ uint64(i)*0x9e3779b97f4a7c15
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// money formats cents as Shopify's decimal string.
func money(cents int64) schemas.Money {
	return schemas.MustMoney(fmt.Sprintf("%d.%02d", cents/100, cents%100))
}

func ptr[T any](v T) *T { return &v }

// customerUpdatedAt is non-decreasing in i and shared by pairs, so a
// cursor must break updated_at ties by id.
func customerUpdatedAt(i int) time.Time { return epoch.Add(time.Duration(i/2) * time.Second) }
func orderUpdatedAt(j int) time.Time    { return epoch.Add(time.Duration(j/3) * time.Second) }
func productUpdatedAt(k int) time.Time  { return epoch.Add(time.Duration(k) * time.Second) }
func checkoutUpdatedAt(i int) time.Time { return epoch.Add(time.Duration(i) * time.Second) }

func customerGID(id int64) string { return fmt.Sprintf("gid://shopify/Customer/%d", id) }

func (s *Store) customerEmail(i int) string {
	if i%97 == 96 {
		return "" // customers without an email exist (phone-only sign-ups)
	}
	return fmt.Sprintf("customer%d@example.com", i)
}

func (s *Store) customerName(i int) (string, string) {
	h := s.hash(hCustomer, i)
	return firstNames[h%uint64(len(firstNames))], lastNames[(h>>8)%uint64(len(lastNames))]
}

// CustomerAt returns generated customer i (0 ≤ i < Customers) in its
// canonical form: exactly what a correct client decodes from the Admin API.
func (s *Store) CustomerAt(i int) *schemas.Customer {
	h := s.hash(hCustomer, i)
	id := int64(customerBase + i)
	first, last := s.customerName(i)
	email := s.customerEmail(i)
	created := customerUpdatedAt(i).Add(-time.Duration(h%86400) * time.Second)
	c := &schemas.Customer{
		ID: schemas.ID(id), AdminGraphQLAPIID: customerGID(id),
		Email: email, MissingEmail: email == "",
		FirstName: first, LastName: last,
		State: "enabled", Locale: locales[(h>>16)%uint64(len(locales))],
		VerifiedEmail: email != "", TaxExempt: i%17 == 0,
		CreatedAt: created, UpdatedAt: customerUpdatedAt(i),
		Currency: "USD",
	}
	if i%13 == 12 {
		c.State = "disabled"
	}
	if (h>>20)%3 == 0 {
		c.Phone = fmt.Sprintf("+1613555%04d", i%10000)
	}
	if i%5 == 0 {
		c.Tags = schemas.Tags{"vip", "ünïcode"}
	}
	if i%11 == 0 {
		c.Note = "Loves crème brûlée 🍮 — 日本語 ok"
	}
	c.DefaultAddress = &schemas.Address{
		ID: schemas.ID(addressBase + i), FirstName: first, LastName: last, Name: first + " " + last,
		Address1: fmt.Sprintf("%d rue de l'Église", 1+i%300), City: "Montréal",
		Province: "Quebec", ProvinceCode: "QC", Country: "Canada", CountryCode: "CA",
		Zip: "H2X 1Y4", Phone: c.Phone,
	}
	states := []string{schemas.ConsentSubscribed, schemas.ConsentNotSubscribed, schemas.ConsentUnsubscribed}
	if email != "" {
		c.EmailMarketingConsent = &schemas.EmailMarketingConsent{
			State: states[(h>>24)%3], OptInLevel: "single_opt_in", ConsentUpdatedAt: ptr(created),
		}
	}
	n, spent := s.customerOrders(i)
	c.OrdersCount = ptr(schemas.Count(n))
	c.TotalSpent = ptr(money(spent))
	return c
}

// customerOrders counts the generated orders of customer i and their total,
// walking only the orders that can reference it (j ≡ i mod Customers).
func (s *Store) customerOrders(i int) (int64, int64) {
	var n, cents int64
	for j := i; j < s.opts.Orders; j += s.opts.Customers {
		if _, ok := s.orderCustomer(j); ok {
			n++
			cents += s.orderTotals(j).total
		}
	}
	return n, cents
}

// orderCustomer is the customer index of order j; every 50th order is a
// guest checkout.
func (s *Store) orderCustomer(j int) (int, bool) {
	if s.opts.Customers == 0 || j%50 == 49 {
		return 0, false
	}
	return j % s.opts.Customers, true
}

type lineSpec struct {
	product, variant int
	qty              int64
}

// bigOrderLines is the size of the orders BigOrderEvery asks for: more
// than a page query's nested lineItems(first: 20) holds.
const bigOrderLines = 45

func (s *Store) orderLines(j int) []lineSpec {
	if s.opts.Products == 0 {
		return nil
	}
	h := s.hash(hOrder, j)
	n := 1 + int(h%3)
	if e := s.opts.BigOrderEvery; e > 0 && j%e == e-1 {
		n = bigOrderLines
	}
	lines := make([]lineSpec, n)
	for l := range lines {
		x := h >> (8 + 12*l)
		if l >= 3 {
			x = s.hash(hLine, j*64+l)
		}
		p := int(x % uint64(s.opts.Products))
		lines[l] = lineSpec{product: p, variant: int((x >> 5) % uint64(s.variantCount(p))), qty: int64(1 + (x>>9)%3)}
	}
	return lines
}

type totals struct{ subtotal, tax, total int64 }

func (s *Store) orderTotals(j int) totals {
	var t totals
	for _, l := range s.orderLines(j) {
		t.subtotal += s.variantCents(l.product, l.variant) * l.qty
	}
	t.tax = t.subtotal / 10
	t.total = t.subtotal + t.tax
	return t
}

func (s *Store) variantCount(k int) int { return 1 + int(s.hash(hProduct, k)%3) }

func (s *Store) variantCents(k, v int) int64 {
	return 500 + int64((s.hash(hProduct, k)>>(8+4*v))%20000)
}

func (s *Store) customerRef(c int) *schemas.Customer {
	id := int64(customerBase + c)
	first, last := s.customerName(c)
	return &schemas.Customer{
		ID: schemas.ID(id), AdminGraphQLAPIID: customerGID(id),
		Email: s.customerEmail(c), FirstName: first, LastName: last,
	}
}

func (s *Store) lineItem(id int64, l lineSpec) schemas.LineItem {
	p := s.ProductAt(l.product)
	v := p.Variants[l.variant]
	return schemas.LineItem{
		ID: schemas.ID(id), ProductID: p.ID, VariantID: v.ID,
		Title: p.Title, VariantTitle: v.Title, Name: p.Title + " - " + v.Title,
		SKU: v.SKU, Vendor: p.Vendor, Quantity: l.qty, Price: v.Price,
	}
}

// OrderAt returns generated order j (0 ≤ j < Orders) in canonical form.
func (s *Store) OrderAt(j int) *schemas.Order {
	h := s.hash(hOrder, j)
	id := int64(orderBase + j)
	t := s.orderTotals(j)
	updated := orderUpdatedAt(j)
	o := &schemas.Order{
		ID: schemas.ID(id), AdminGraphQLAPIID: fmt.Sprintf("gid://shopify/Order/%d", id),
		Name: fmt.Sprintf("#%d", 1001+j), Currency: "USD", PresentmentCurrency: "USD",
		FinancialStatus: "paid", Confirmed: true, SourceName: "web",
		CustomerLocale:        locales[(h>>40)%uint64(len(locales))],
		BuyerAcceptsMarketing: h%2 == 0,
		CreatedAt:             updated.Add(-time.Hour), ProcessedAt: updated.Add(-time.Hour), UpdatedAt: updated,
		SubtotalPrice: money(t.subtotal), TotalTax: money(t.tax), TotalPrice: money(t.total),
		TotalDiscounts: money(0), CurrentTotalPrice: ptr(money(t.total)),
	}
	switch (h >> 44) % 4 {
	case 0:
		o.FulfillmentStatus = "fulfilled"
	case 1:
		o.FulfillmentStatus = "partial"
	}
	if j%29 == 28 {
		o.CancelReason, o.CancelledAt, o.FinancialStatus = "customer", ptr(updated), "refunded"
	}
	if j%7 == 0 {
		o.Tags = schemas.Tags{"wholesale", "première"}
		o.NoteAttributes = schemas.Attrs{{Name: "utm_source", Value: "newsletter"}}
	}
	if c, ok := s.orderCustomer(j); ok {
		o.Customer = s.customerRef(c)
		o.Email = o.Customer.Email
	}
	for l, spec := range s.orderLines(j) {
		o.LineItems = append(o.LineItems, s.lineItem(lineItemBase+int64(j)*64+int64(l), spec))
	}
	return o
}

// ProductAt returns generated product k (0 ≤ k < Products) in canonical
// form, with its variants and images.
func (s *Store) ProductAt(k int) *schemas.Product {
	h := s.hash(hProduct, k)
	id := int64(productBase + k)
	updated := productUpdatedAt(k)
	p := &schemas.Product{
		ID: schemas.ID(id), AdminGraphQLAPIID: fmt.Sprintf("gid://shopify/Product/%d", id),
		Title:  fmt.Sprintf("%s %d", products[h%uint64(len(products))], k),
		Handle: fmt.Sprintf("product-%d", k), BodyHTML: "<p>Fait main — 手作り</p>",
		Vendor: "Atelier Ünïque", ProductType: "Goods", Status: "active",
		CreatedAt: updated.Add(-24 * time.Hour), UpdatedAt: updated, PublishedAt: ptr(updated.Add(-24 * time.Hour)),
	}
	if k%3 == 0 {
		p.Tags = schemas.Tags{"summer", "été"}
	}
	n := s.variantCount(k)
	for v := range n {
		vid := int64(variantBase + 4*k + v)
		title := "Default Title"
		if n > 1 {
			title = sizes[v]
		}
		p.Variants = append(p.Variants, schemas.Variant{
			ID: schemas.ID(vid), AdminGraphQLAPIID: fmt.Sprintf("gid://shopify/ProductVariant/%d", vid),
			ProductID: p.ID, Title: title, SKU: fmt.Sprintf("SKU-%d-%d", k, v), Position: int64(v + 1),
			Price: money(s.variantCents(k, v)), Option1: title,
			InventoryItemID: schemas.ID(inventoryBase + 4*k + v), InventoryQuantity: ptr(int64((h >> (20 + 4*v)) % 50)),
			InventoryPolicy: "deny", Taxable: true, CreatedAt: p.CreatedAt, UpdatedAt: updated,
		})
	}
	for m := range 1 + int((h>>30)%2) {
		p.Images = append(p.Images, schemas.Image{
			ID: schemas.ID(imageBase + 2*k + m), ProductID: p.ID, Position: int64(m + 1),
			Src: fmt.Sprintf("https://cdn.shopify.com/s/files/1/0000/0001/products/p%d-%d.jpg", k, m),
			Alt: p.Title, Width: 1024, Height: 768,
		})
	}
	return p
}

// CheckoutAt returns generated abandoned checkout i (0 ≤ i < Checkouts).
func (s *Store) CheckoutAt(i int) *schemas.Checkout {
	h := s.hash(hCheckout, i)
	id := int64(checkoutBase + i)
	updated := checkoutUpdatedAt(i)
	ch := &schemas.Checkout{
		ID: schemas.ID(id), Name: fmt.Sprintf("#%d", id),
		AbandonedCheckoutURL: fmt.Sprintf("https://%s/%d/checkouts/ac/%016x/recover?key=%016x", s.opts.Shop, id, h, h>>3),
		Currency:             "USD", CreatedAt: updated.Add(-30 * time.Minute), UpdatedAt: updated,
		TotalDiscounts: money(0),
	}
	if s.opts.Customers > 0 {
		ch.Customer = s.customerRef(int(h % uint64(s.opts.Customers)))
		ch.Email = ch.Customer.Email
	}
	var sub int64
	if s.opts.Products > 0 {
		for l := range 1 + int(h>>8)%2 {
			x := h >> (12 + 10*l)
			p := int(x % uint64(s.opts.Products))
			spec := lineSpec{product: p, variant: int((x >> 4) % uint64(s.variantCount(p))), qty: 1}
			li := s.lineItem(checkoutLineBase+int64(i)*4+int64(l), spec)
			li.Name, li.Vendor = "", "" // AbandonedCheckoutLineItem has neither
			sub += s.variantCents(spec.product, spec.variant)
			ch.LineItems = append(ch.LineItems, li)
		}
	}
	ch.SubtotalPrice, ch.TotalTax, ch.TotalPrice = money(sub), money(sub/10), money(sub+sub/10)
	return ch
}

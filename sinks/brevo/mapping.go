package brevo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// What each canonical event type does in Brevo. This table is the one place
// that decides it; README.md shows it to users. A type that is not listed
// has nothing to hold in Brevo (inventory, fulfillments, data requests, …):
// it is recorded skipped, "no Brevo rule for <topic>", as is every record
// for which the sink ends up sending nothing (see nothingToSend).
//
// Lists are applied after the contact is upserted, events and orders after
// that, so an automation triggered by an event finds the contact with its
// new attributes and list memberships.
var rules = map[string]rule{
	// customer_created is a customer tajo did not know (the transforms
	// type a known one's customers/create as an update): the event starts
	// a welcome series.
	schemas.TypeCustomerCreated:             {contact: upsert, event: "customer_created"},
	schemas.TypeCustomerUpdated:             {contact: upsert},
	schemas.TypeCustomerEnabled:             {contact: upsert},
	schemas.TypeCustomerDisabled:            {contact: upsert},
	schemas.TypeCustomerTagsAdded:           {contact: upsert},
	schemas.TypeCustomerTagsRemoved:         {contact: upsert},
	schemas.TypeCustomerPurchasingSummary:   {contact: upsert},
	schemas.TypeCustomerEmailConsentUpdated: {contact: upsert},
	schemas.TypeCustomerSMSConsentUpdated:   {contact: upsert},
	schemas.TypeCustomerDeleted:             {contact: remove},
	schemas.TypeCustomerRedact:              {contact: remove},
	// The daily RECENCY sweep's contact updates; a batch of them goes
	// through one import.
	TypeCustomerRecencyUpdated: {contact: upsert},

	schemas.TypeOrderPlaced:             {contact: upsert, order: true, lists: []listChange{{buyers, true}, {abandoned, false}}, event: "order_placed"},
	schemas.TypeOrderUpdated:            {contact: upsert, order: true},
	schemas.TypeOrderPaid:               {contact: upsert, order: true, event: "order_paid"},
	schemas.TypeOrderPartiallyFulfilled: {contact: upsert, order: true},
	schemas.TypeOrderFulfilled:          {contact: upsert, order: true, event: "order_fulfilled"},
	schemas.TypeOrderCancelled:          {contact: upsert, order: true, event: "order_cancelled"},
	// A refund names no buyer; the transforms find it in the order ledger
	// and set the identifiers and the recomputed TOTAL_SPENT/AOV.
	schemas.TypeOrderRefunded: {contact: upsert, event: "order_refunded"},

	schemas.TypeCheckoutCreated: {contact: upsert, checkoutLists: true, event: "checkout_created"},
	schemas.TypeCheckoutUpdated: {contact: upsert, checkoutLists: true, event: "checkout_updated"},
	// Derived events of an abandonment transform, when one runs.
	TypeCheckoutAbandoned:   {contact: upsert, lists: []listChange{{abandoned, true}}, event: "checkout_abandoned"},
	TypeCartAbandoned:       {contact: upsert, lists: []listChange{{abandoned, true}}, event: "cart_abandoned"},
	schemas.TypeCartCreated: {event: "cart_updated"},
	schemas.TypeCartUpdated: {event: "cart_updated"},

	schemas.TypeProductCreated: {product: upsert},
	schemas.TypeProductUpdated: {product: upsert},
	schemas.TypeProductDeleted: {product: remove},
}

// Derived event types the sink understands although no Shopify topic
// produces them (an abandonment timer does).
const (
	TypeCheckoutAbandoned = "checkout_abandoned"
	TypeCartAbandoned     = "cart_abandoned"
	// TypeCustomerRecencyUpdated is the transforms' daily sweep
	// (transforms.TypeCustomerRecency).
	TypeCustomerRecencyUpdated = "customer_recency_updated"
)

type action int

const (
	none action = iota
	upsert
	remove
)

type listName int

const (
	buyers listName = iota + 1
	abandoned
)

type listChange struct {
	list listName
	add  bool
}

type rule struct {
	contact action
	lists   []listChange
	// checkoutLists: an open checkout (not completed) puts the buyer in
	// abandoned_cart until an order or the checkout's completion takes
	// them out.
	checkoutLists bool
	order         bool
	event         string
	product       action
}

// plan is what one record asks of Brevo.
type plan struct {
	ev         *schemas.Event
	rule       rule
	id         identity
	attrs      map[string]any
	emailState ConsentState
	smsState   ConsentState
	lists      []listChange
	// listIDs are the lists of the record's shop.
	listIDs    ListIDs
	historical bool
	event      *Event
	order      *Order
	// products are the product and, with include_variants, its variants;
	// categories the ones they name.
	products   []Product
	categories []Category
	// skip, when set, is why nothing is sent for the record; it is
	// recorded as skipped with this reason.
	skip string
}

type identity struct {
	email, extID, phone string
}

// key is the contact a record is about, for coalescing; "" when none.
func (id identity) key() string {
	switch {
	case id.email != "":
		return "e:" + strings.ToLower(id.email)
	case id.extID != "":
		return "x:" + id.extID
	case id.phone != "":
		return "p:" + id.phone
	}
	return ""
}

// flexID decodes an upstream id in any of its forms and ignores what is
// not one (a cart's token), since the probe is only a fallback.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var id schemas.ID
	if id.UnmarshalJSON(b) == nil && id != 0 {
		*f = flexID(id.String())
	}
	return nil
}

// probe reads identity and consent from the canonical data when no map
// stage has set them (a pipeline without transforms, consent topics).
type probe struct {
	ID           flexID         `json:"id"`
	CustomerID   flexID         `json:"customer_id"`
	Email        string         `json:"email"`
	EmailAddress string         `json:"email_address"`
	Phone        string         `json:"phone"`
	Customer     *probeCustomer `json:"customer"`
	EmailConsent *struct {
		State string `json:"state"`
	} `json:"email_marketing_consent"`
	SMSConsent *struct {
		State string `json:"state"`
	} `json:"sms_marketing_consent"`
	CompletedAt *time.Time `json:"completed_at"`
	// Test marks a test order (or its refund).
	Test bool `json:"test"`
}

type probeCustomer struct {
	ID    flexID `json:"id"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// probeOf reads the probe from the object the transforms decoded, or from
// data when there is none, and not at all when a map stage has already set
// all it would tell: the contact's identifiers and consent.
func probeOf(ev *schemas.Event) probe {
	var pr probe
	switch o := ev.Object.(type) {
	case *schemas.Order:
		pr.ID, pr.Email, pr.Phone, pr.Test = flexOf(o.ID), o.Email, o.Phone, o.Test
		pr.Customer = customerProbe(o.Customer)
		return pr
	case *schemas.Checkout:
		pr.ID, pr.Email, pr.Phone, pr.CompletedAt = flexOf(o.ID), o.Email, o.Phone, o.CompletedAt
		pr.Customer = customerProbe(o.Customer)
		return pr
	}
	mapped := ev.Identifiers != nil && *ev.Identifiers != (schemas.Identifiers{}) && ev.Consent != nil
	if len(ev.Data) > 0 && !(mapped && ev.Entity.Kind == schemas.KindCustomer) {
		_ = json.Unmarshal(ev.Data, &pr) // best effort: the data already passed the source
	}
	return pr
}

func customerProbe(c *schemas.Customer) *probeCustomer {
	if c == nil {
		return nil
	}
	return &probeCustomer{ID: flexOf(c.ID), Email: c.Email, Phone: c.Phone}
}

// flexOf is what flexID decodes from id.
func flexOf(id schemas.ID) flexID {
	if id == 0 {
		return ""
	}
	return flexID(id.String())
}

// dataOf returns ev's data as a T: the object the transforms decoded
// (shared with the other sinks: read it, never change it), or Data
// decoded now.
func dataOf[T any](ev *schemas.Event) (*T, error) {
	if o, ok := ev.Object.(*T); ok {
		return o, nil
	}
	v := new(T)
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// planRecord decodes one record into what it asks of Brevo. An error is
// classified: a record that can never be delivered is Rejected.
func (s *Sink) planRecord(rec *pipeline.Record, now time.Time) (*plan, error) {
	ev, err := rec.DecodeEvent()
	if err != nil {
		return nil, pipeline.Reject("invalid_event", err)
	}
	p := &plan{ev: ev, rule: rules[ev.Type]}
	r := p.rule
	if r.contact == none && r.event == "" && !r.order && r.product == none {
		return &plan{ev: ev, skip: "no Brevo rule for " + first(ev.Topic, ev.Type)}, nil
	}
	p.listIDs = s.cfg.ListsFor(ev.Shop)
	p.historical = s.historical(ev, now)

	pr := probeOf(ev)
	if pr.Test && s.cfg.TestOrders != TestOrdersSend && (ev.Entity.Kind == schemas.KindOrder || ev.Entity.Kind == schemas.KindRefund) {
		// A test order starts nothing: no contact, list, event or order
		// status, any of which could trigger an automation.
		return &plan{ev: ev, skip: "test order"}, nil
	}
	p.id = identityOf(ev, &pr)
	if ev.Consent != nil {
		p.emailState, p.smsState = ParseConsentState(ev.Consent.Email), ParseConsentState(ev.Consent.SMS)
	} else if ev.Entity.Kind == schemas.KindCustomer {
		if pr.EmailConsent != nil {
			p.emailState = ParseConsentState(pr.EmailConsent.State)
		}
		if pr.SMSConsent != nil {
			p.smsState = ParseConsentState(pr.SMSConsent.State)
		}
	}
	if len(bytes.TrimSpace(ev.Attributes)) > 0 {
		attrs, err := decodeAttributes(ev.Attributes)
		if err != nil {
			return nil, pipeline.Reject("invalid_attributes", err)
		}
		p.attrs = attrs
	}
	if sms, ok := p.attrs["SMS"].(string); ok && p.id.phone == "" {
		p.id.phone = sms
	}

	p.lists = append(p.lists, r.lists...)
	if r.checkoutLists {
		p.lists = append(p.lists, listChange{abandoned, pr.CompletedAt == nil})
	}
	if p.historical {
		// An old abandoned checkout joining the list would start today's
		// abandoned-cart automation.
		kept := p.lists[:0]
		for _, lc := range p.lists {
			if lc.list != abandoned || !lc.add {
				kept = append(kept, lc)
			}
		}
		p.lists = kept
	}
	if r.contact == upsert && p.id.key() == "" && r.event == "" && !r.order {
		return nil, pipeline.Reject("missing_parameter", fmt.Errorf("%s %s: no email, ext_id or phone to upsert the contact by", ev.Type, ev.Entity.ID))
	}
	if r.contact == remove && p.id.extID == "" && p.id.email == "" {
		if ev.Entity.Kind == schemas.KindCustomer && ev.Entity.ID != "" {
			p.id.extID = ev.Entity.ID
		} else {
			return nil, pipeline.Reject("missing_parameter", fmt.Errorf("%s: no customer id or email to delete", ev.Type))
		}
	}
	if r.event != "" && s.cfg.Events.Enabled && !p.historical && p.id.key() != "" {
		p.event = brevoEvent(ev, r.event, p.id)
		if ev.Entity.Kind == schemas.KindRefund && len(p.attrs) > 0 {
			// The contact's figures as the refund left them, on the event
			// too, so an automation it starts reads them.
			p.event.ContactProperties = upperKeys(p.attrs)
		}
	}
	if s.cfg.Ecommerce.Enabled {
		if r.order {
			o, err := brevoOrder(ev, p.id)
			if err != nil {
				return nil, err
			}
			p.order = o
		}
		if r.product != none {
			prods, cats, err := brevoProducts(ev, r.product == remove, s.cfg.Products)
			if err != nil {
				return nil, err
			}
			p.products, p.categories = prods, cats
		}
	}
	if why := s.nothingToSend(p); why != "" {
		return &plan{ev: ev, skip: why}, nil
	}
	return p, nil
}

// nothingToSend says why a planned record makes no request to Brevo, or ""
// when it makes one: the history must never call delivered a step that
// sent nothing (DESIGN.md invariant 9).
func (s *Sink) nothingToSend(p *plan) string {
	r, ev := p.rule, p.ev
	known := p.id.key() != ""
	if (r.contact != none && known) || p.event != nil || p.order != nil || len(p.products) > 0 {
		return ""
	}
	switch {
	case ev.Entity.Kind == schemas.KindRefund && !known:
		return "refund of an order without a known buyer"
	case ev.Entity.Kind == schemas.KindCart && !known:
		return "cart without a known buyer (Shopify carts name none)"
	case r.product != none && !s.cfg.Ecommerce.Enabled:
		return "e-commerce is off (sinks.brevo.ecommerce.enabled: false)"
	case r.order && !s.cfg.Ecommerce.Enabled && r.event == "":
		return "e-commerce is off (sinks.brevo.ecommerce.enabled: false)"
	case r.event != "" && !s.cfg.Events.Enabled:
		return "custom events are off (sinks.brevo.events.enabled: false)"
	case r.event != "" && p.historical:
		return "historical record: " + r.event + " is not sent for backfilled events"
	case !known:
		return "no buyer identified (no email, ext_id or phone)"
	}
	return "nothing to send to Brevo for " + ev.Type
}

// upperKeys copies attributes with their names in Brevo's upper case.
func upperKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToUpper(k)] = v
	}
	return out
}

func identityOf(ev *schemas.Event, pr *probe) identity {
	if ev.Identifiers != nil && (ev.Identifiers.Email != "" || ev.Identifiers.ExtID != "" || ev.Identifiers.Phone != "") {
		return identity{email: strings.TrimSpace(ev.Identifiers.Email), extID: ev.Identifiers.ExtID, phone: ev.Identifiers.Phone}
	}
	var id identity
	switch ev.Entity.Kind {
	case schemas.KindCustomer:
		id = identity{email: first(pr.Email, pr.EmailAddress), extID: string(first(pr.ID, pr.CustomerID)), phone: pr.Phone}
		if pr.Customer != nil { // customers/redact
			id = identity{email: first(id.email, pr.Customer.Email), extID: string(first(flexID(id.extID), pr.Customer.ID)), phone: first(id.phone, pr.Customer.Phone)}
		}
	case schemas.KindOrder, schemas.KindCheckout:
		id.email = pr.Email
		if pr.Customer != nil {
			id.email = first(id.email, pr.Customer.Email)
			id.extID = string(pr.Customer.ID)
		}
	}
	id.email = strings.TrimSpace(id.email)
	return id
}

func first[T ~string](vs ...T) T {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// decodeAttributes keeps numbers exact (json.Number) and folds a list of
// strings into text, the only form a text attribute takes.
func decodeAttributes(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	for k, v := range m {
		switch x := v.(type) {
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			m[k] = strings.Join(parts, ", ")
		case map[string]any:
			return nil, fmt.Errorf("attribute %s: nested objects are not attribute values", k)
		}
	}
	return m, nil
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// inferType is the Brevo type an attribute nobody declared is created with.
func inferType(v any) AttrType {
	switch x := v.(type) {
	case json.Number, float64, int, int64:
		return AttrFloat
	case bool:
		return AttrBoolean
	case string:
		if dateRe.MatchString(x) {
			return AttrDate
		}
	}
	return AttrText
}

// historical reports whether ev comes from a backfill: its source is one of
// historical.sources, or it is older than historical.max_age on arrival.
// Historical orders go to /orders/status/batch with historical: true and
// historical events are not sent, so old facts never trigger automations.
func (s *Sink) historical(ev *schemas.Event, now time.Time) bool {
	for _, src := range s.cfg.Historical.Sources {
		if strings.EqualFold(ev.Source, src) {
			return true
		}
	}
	return s.cfg.Historical.MaxAge > 0 && now.Sub(ev.OccurredAt) > s.cfg.Historical.MaxAge
}

// maxEventLines bounds the lines copied into an event, keeping large orders
// well under Brevo's 50 KB of event properties.
const maxEventLines = 50

func brevoEvent(ev *schemas.Event, name string, id identity) *Event {
	props := map[string]any{"event_id": ev.ID, "shop": ev.Shop, "type": ev.Type}
	switch ev.Entity.Kind {
	case schemas.KindOrder:
		if o, err := dataOf[schemas.Order](ev); err == nil {
			props["order_id"] = o.ID.String()
			props["order_name"] = o.Name
			props["amount"] = orderAmount(o)
			props["currency"] = o.Currency
			props["financial_status"] = o.FinancialStatus
			props["items"] = lines(o.LineItems)
			if o.OrderStatusURL != "" {
				props["order_status_url"] = o.OrderStatusURL
			}
		}
	case schemas.KindCheckout:
		if c, err := dataOf[schemas.Checkout](ev); err == nil {
			props["checkout_token"] = c.Token
			props["amount"] = c.TotalPrice.InexactFloat64()
			props["currency"] = c.Currency
			props["items"] = lines(c.LineItems)
			if c.AbandonedCheckoutURL != "" {
				props["abandoned_checkout_url"] = c.AbandonedCheckoutURL
			}
		}
	case schemas.KindRefund:
		if r, err := dataOf[schemas.Refund](ev); err == nil {
			props["order_id"] = r.OrderID.String()
			props["refund_id"] = r.ID.String()
			props["amount"] = r.RefundedAmount().InexactFloat64()
			for _, t := range r.Transactions {
				if t.Currency != "" {
					props["currency"] = t.Currency
					break
				}
			}
		}
	case schemas.KindCart:
		if c, err := dataOf[schemas.Cart](ev); err == nil {
			props["cart_token"] = c.Token
			props["items"] = lines(c.LineItems)
		}
	}
	return &Event{Name: name, Date: ev.OccurredAt, EventProperties: props, Identifiers: Identifiers{EmailID: id.email, ExtID: id.extID, PhoneID: id.phone}}
}

func lines(items []schemas.LineItem) []map[string]any {
	out := make([]map[string]any, 0, min(len(items), maxEventLines))
	for i, li := range items {
		if i == maxEventLines {
			break
		}
		m := map[string]any{"quantity": li.Quantity, "price": li.Price.InexactFloat64(), "title": first(li.Title, li.Name)}
		if li.ProductID != 0 {
			m["product_id"] = li.ProductID.String()
		}
		if li.VariantID != 0 {
			m["variant_id"] = li.VariantID.String()
		}
		if li.SKU != "" {
			m["sku"] = li.SKU
		}
		out = append(out, m)
	}
	return out
}

func orderAmount(o *schemas.Order) float64 {
	if o.CurrentTotalPrice != nil {
		return o.CurrentTotalPrice.InexactFloat64()
	}
	return o.TotalPrice.InexactFloat64()
}

// orderStatus is the status Brevo shows for an order. The event that
// says what just happened decides first: orders/paid is "paid" even when
// the order was fulfilled before it was paid (cash on delivery).
func orderStatus(ev *schemas.Event, o *schemas.Order) string {
	switch {
	case o.CancelledAt != nil || ev.Type == schemas.TypeOrderCancelled:
		return "cancelled"
	case ev.Type == schemas.TypeOrderPaid:
		return "paid"
	case o.FulfillmentStatus == "fulfilled" || ev.Type == schemas.TypeOrderFulfilled:
		return "fulfilled"
	case o.FinancialStatus != "":
		return o.FinancialStatus
	}
	return "placed"
}

func brevoOrder(ev *schemas.Event, id identity) (*Order, error) {
	o, err := dataOf[schemas.Order](ev)
	if err != nil {
		return nil, pipeline.Reject("invalid_event", fmt.Errorf("%s data: %w", ev.Type, err))
	}
	created, updated := o.CreatedAt, o.UpdatedAt
	if created.IsZero() {
		created = ev.OccurredAt
	}
	if updated.IsZero() {
		updated = ev.OccurredAt
	}
	out := &Order{
		ID: o.ID.String(), CreatedAt: FormatTime(created), UpdatedAt: FormatTime(updated),
		Status: orderStatus(ev, o), Amount: orderAmount(o), StoreID: ev.Shop,
		Products: []OrderProduct{},
	}
	if id.email != "" || id.extID != "" || id.phone != "" {
		out.Identifiers = &OrderIdentifiers{EmailID: id.email, ExtID: id.extID, PhoneID: id.phone}
	}
	for _, li := range o.LineItems {
		p := OrderProduct{Quantity: float64(li.Quantity), Price: li.Price.InexactFloat64()}
		switch {
		case li.ProductID != 0:
			p.ProductID = li.ProductID.String()
		case li.SKU != "":
			p.ProductID = li.SKU
		default:
			p.ProductID = "line-" + li.ID.String() // a custom line has no product
		}
		if li.VariantID != 0 {
			p.VariantID = li.VariantID.String()
		}
		out.Products = append(out.Products, p)
	}
	if b := o.BillingAddress; b != nil {
		out.Billing = &Billing{Address: strings.TrimSpace(b.Address1 + " " + b.Address2), City: b.City, CountryCode: b.CountryCode,
			Country: b.Country, Phone: b.Phone, PostCode: b.Zip, Region: b.Province}
	}
	for _, dc := range o.DiscountCodes {
		out.Coupons = append(out.Coupons, dc.Code)
	}
	return out, nil
}

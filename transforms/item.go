package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sjson "github.com/segmentio/encoding/json"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// item is a record decoded once, typed, and kept in Record.Cache so that
// every later stage of the chain reads structs instead of JSON.
type item struct {
	ev   schemas.Event
	data any // *schemas.Customer, *schemas.Order, … or nil for types no stage reads
	// customer is who the event is about: the customer itself, an order's or
	// a checkout's customer, or a stub (id, email, consent) built from the
	// small customer topics.
	customer *schemas.Customer
	agg      *customerAgg
	shop     *shopSettings

	now     time.Time
	env     Env
	views   views
	envDone bool

	out  output
	orig []byte // the envelope as the source wrote it
	base int    // len(Value) of the envelope without our fields and closing brace; -1 when unknown
}

// views back the pointers of Env; the kinds an event does not carry point
// at shared zero views instead, which expressions cannot modify.
type views struct {
	event    EventView
	customer CustomerView
	shop     ShopView
}

var (
	zeroOrder    OrderView
	zeroCheckout CheckoutView
	zeroProduct  ProductView
)

// output is what map stages add to the envelope.
type output struct {
	attrs   []attr
	ident   schemas.Identifiers
	consent schemas.Consent
	touched bool
	buf     []byte
}

type attr struct {
	key string
	val []byte // encoded JSON value
}

// set stores an encoded value; values share one buffer per record, and a
// value is copied into it, so val may be reused by the caller.
func (o *output) set(key string, val []byte) {
	if cap(o.buf)-len(o.buf) < len(val) {
		o.buf = make([]byte, 0, max(512, 2*len(val)))
	}
	start := len(o.buf)
	o.buf = append(o.buf, val...)
	v := o.buf[start:len(o.buf):len(o.buf)]
	for i := range o.attrs {
		if o.attrs[i].key == key {
			o.attrs[i].val = v
			return
		}
	}
	if o.attrs == nil {
		o.attrs = make([]attr, 0, 16)
	}
	o.attrs = append(o.attrs, attr{key: key, val: v})
}

// load returns the decoded form of rec, decoding it on first use.
func (c *chain) load(rec *pipeline.Record) (*item, error) {
	if it, ok := rec.Cache.(*item); ok {
		return it, nil
	}
	it := &item{base: -1, orig: rec.Value}
	var err error
	if err = parseEnvelope(rec.Value, &it.ev); err != nil {
		it.ev = schemas.Event{}
		err = unmarshal(rec.Value, &it.ev)
	}
	if err != nil {
		return nil, pipeline.Reject("bad_envelope", fmt.Errorf("decode %s: %w", schemas.EventSchema, err))
	}
	if err := quickValidate(&it.ev); err != nil {
		return nil, pipeline.Reject("bad_envelope", err)
	}
	if err = it.decodeData(); err != nil {
		return nil, pipeline.Reject("bad_data", fmt.Errorf("%s data: %w", it.ev.Type, err))
	}
	if len(it.ev.Attributes) == 0 && it.ev.Identifiers == nil && it.ev.Consent == nil {
		if n := lastBrace(rec.Value); n > 0 {
			it.base = n
		}
	} else {
		it.adoptOutput()
	}
	it.shop = c.settings.forShop(it.ev.Shop)
	it.now = c.now().In(it.shop.loc)
	rec.Cache = it
	return it, nil
}

// unmarshal is segmentio's encoding/json: the same semantics (and the
// schemas types' own UnmarshalJSON methods), at a third of the cost of the
// standard library on these payloads.
func unmarshal(b []byte, v any) error { return sjson.Unmarshal(b, v) }

// quickValidate is schemas.Event.Validate without re-scanning data, which
// decodeData parses anyway.
func quickValidate(e *schemas.Event) error {
	switch {
	case e.Schema != schemas.EventSchema:
		return fmt.Errorf("schema: want %q, got %q", schemas.EventSchema, e.Schema)
	case e.ID == "" || e.Shop == "" || e.Type == "":
		return errors.New("invalid tajo.event.v1: missing id, shop or type")
	}
	return nil
}

func lastBrace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case '}':
			return i
		case ' ', '\n', '\r', '\t':
		default:
			return -1
		}
	}
	return -1
}

// decodeData decodes Event.Data into the canonical type its event type
// names. Types no stage needs stay undecoded and pass through.
func (it *item) decodeData() error {
	if len(it.ev.Data) == 0 {
		return nil
	}
	var err error
	switch it.ev.Type {
	case schemas.TypeCustomerCreated, schemas.TypeCustomerUpdated, schemas.TypeCustomerEnabled, schemas.TypeCustomerDisabled:
		c := new(schemas.Customer)
		err = unmarshal(it.ev.Data, c)
		it.data, it.customer = c, c
	case schemas.TypeCustomerEmailConsentUpdated:
		u := new(schemas.EmailConsentUpdate)
		err = unmarshal(it.ev.Data, u)
		it.data = u
		it.customer = &schemas.Customer{ID: u.CustomerID, Email: u.EmailAddress, EmailMarketingConsent: u.EmailMarketingConsent}
	case schemas.TypeCustomerSMSConsentUpdated:
		u := new(schemas.SMSConsentUpdate)
		err = unmarshal(it.ev.Data, u)
		it.data = u
		it.customer = &schemas.Customer{ID: u.CustomerID, Phone: u.Phone, SMSMarketingConsent: u.SMSMarketingConsent}
	case schemas.TypeCustomerTagsAdded, schemas.TypeCustomerTagsRemoved:
		u := new(schemas.CustomerTagsChange)
		err = unmarshal(it.ev.Data, u)
		it.data = u
		it.customer = &schemas.Customer{ID: u.CustomerID}
	case schemas.TypeCustomerPurchasingSummary:
		u := new(schemas.PurchasingSummary)
		err = unmarshal(it.ev.Data, u)
		it.data = u
		it.customer = &schemas.Customer{ID: u.CustomerID}
	case schemas.TypeOrderPlaced, schemas.TypeOrderUpdated, schemas.TypeOrderPaid, schemas.TypeOrderFulfilled,
		schemas.TypeOrderPartiallyFulfilled, schemas.TypeOrderCancelled:
		o := new(schemas.Order)
		err = unmarshal(it.ev.Data, o)
		it.data = o
		it.customer = orderCustomer(o)
	case schemas.TypeOrderRefunded:
		r := new(schemas.Refund)
		err = unmarshal(it.ev.Data, r)
		it.data = r
	case schemas.TypeCustomerDeleted, schemas.TypeOrderDeleted, schemas.TypeCheckoutDeleted, schemas.TypeProductDeleted:
		d := new(schemas.Deletion)
		err = unmarshal(it.ev.Data, d)
		it.data = d
	case schemas.TypeCheckoutCreated, schemas.TypeCheckoutUpdated:
		c := new(schemas.Checkout)
		err = unmarshal(it.ev.Data, c)
		it.data = c
		it.customer = c.Customer
	case schemas.TypeProductCreated, schemas.TypeProductUpdated:
		p := new(schemas.Product)
		err = unmarshal(it.ev.Data, p)
		it.data = p
	}
	return err
}

// orderCustomer is the order's customer, with the order's email when the
// customer object lacks one (guest checkouts, redacted payloads).
func orderCustomer(o *schemas.Order) *schemas.Customer {
	if o.Customer == nil {
		if o.Email == "" {
			return nil
		}
		return &schemas.Customer{Email: o.Email, Phone: o.Phone}
	}
	if o.Customer.Email == "" && o.Email != "" {
		c := *o.Customer
		c.Email = o.Email
		return &c
	}
	return o.Customer
}

// adoptOutput keeps what an earlier map stage wrote into the envelope (a
// record replayed from the output of another tajo), so a later map merges
// into it.
func (it *item) adoptOutput() {
	var m map[string]json.RawMessage
	if json.Unmarshal(it.ev.Attributes, &m) == nil {
		for _, k := range sortedKeys(m) {
			it.out.set(k, m[k])
		}
	}
	if it.ev.Identifiers != nil {
		it.out.ident = *it.ev.Identifiers
	}
	if it.ev.Consent != nil {
		it.out.consent = *it.ev.Consent
	}
}

// environment builds the expression environment once per record; the
// aggregates stage invalidates it when it loads newer aggregates.
func (it *item) environment() *Env {
	if it.envDone {
		return &it.env
	}
	it.views = views{}
	v := &it.views
	e := &it.env
	*e = Env{Event: &v.event, Customer: &v.customer, Order: &zeroOrder, Checkout: &zeroCheckout, Product: &zeroProduct, Shop: &v.shop}
	ev := &it.ev
	*e.Event = EventView{
		ID: ev.ID, Type: ev.Type, Topic: ev.Topic, Source: ev.Source, Shop: ev.Shop,
		Kind: ev.Entity.Kind, EntityID: ev.Entity.ID, OccurredAt: ev.OccurredAt,
		ReceivedAt: ev.ReceivedAt, APIVersion: ev.APIVersion,
	}
	customerView(it.customer, e.Customer)
	if it.agg != nil {
		it.agg.view(e.Customer)
	}
	switch d := it.data.(type) {
	case *schemas.Order:
		e.Order = new(OrderView)
		orderView(d, e.Order)
	case *schemas.Refund:
		e.Order = &OrderView{ID: int64(d.OrderID), Refunded: d.RefundedAmount()}
	case *schemas.Checkout:
		e.Checkout = new(CheckoutView)
		checkoutView(d, e.Checkout)
	case *schemas.Product:
		e.Product = new(ProductView)
		productView(d, e.Product)
	}
	*e.Shop = ShopView{Domain: ev.Shop, Timezone: it.shop.loc.String(), Country: it.shop.country}
	e.Now = it.now
	it.envDone = true
	return e
}

package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	sjson "github.com/segmentio/encoding/json"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// item is a record decoded once, typed, and kept in Record.Cache so that
// every later stage of the chain reads structs instead of JSON.
type item struct {
	ev       schemas.Event
	data     any // *schemas.Customer, *schemas.Order, … or nil for types no stage reads
	dataDone bool
	// customer is who the event is about: the customer itself, an order's or
	// a checkout's customer, or a stub (id, email, consent) built from the
	// small customer topics.
	customer *schemas.Customer
	agg      *customerAgg
	shop     *shopSettings
	// withheld names the parts of the customer snapshot that a newer
	// customer record or consent update set (see freshness.go).
	withheld uint8

	now     time.Time
	bound   bool // shop and now are set (load)
	env     expression.Env
	views   views
	envDone bool

	out output
}

// output is what map stages add to the envelope.
type output struct {
	attrs   []attr
	ident   schemas.Identifiers
	consent schemas.Consent
	touched bool
	buf     []byte
	// The first attributes and values live in the item itself: one
	// allocation per record instead of three.
	attrArr [16]attr
	bufArr  [384]byte
}

type attr struct {
	key string
	val []byte // encoded JSON value
}

// set stores an encoded value; values share one buffer per record, and a
// value is copied into it, so val may be reused by the caller.
func (o *output) set(key string, val []byte) {
	if o.buf == nil {
		o.buf = o.bufArr[:0]
	}
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
		o.attrs = o.attrArr[:0]
	}
	o.attrs = append(o.attrs, attr{key: key, val: v})
}

// load returns the decoded form of rec, decoding it on first use, bound
// to its shop's settings and the chain's clock.
func (c *chain) load(rec *pipeline.Record) (*item, error) {
	it, ok := rec.Cache.(*item)
	if !ok {
		var err error
		if it, err = c.decode(rec); err != nil {
			return nil, err
		}
	}
	if !it.bound {
		it.shop = c.settings.forShop(it.ev.Shop)
		it.now = c.now().In(it.shop.loc)
		it.bound = true
	}
	return it, nil
}

// predecode decodes rec ahead of the chain (pipeline.Predecoder): the
// engine calls it from the goroutine that takes records in, so the decode
// runs beside the stages at work on earlier records. It reads nothing the
// stages change; a record that does not decode is left for load to
// reject.
func (c *chain) predecode(rec *pipeline.Record) {
	if _, ok := rec.Cache.(*item); !ok {
		_, _ = c.decode(rec)
	}
}

// decode parses rec into an item and keeps it on the record.
func (c *chain) decode(rec *pipeline.Record) (*item, error) {
	it := &item{}
	var err error
	if err = parseEnvelope(rec.Value, &it.ev, it.parseData); err != nil {
		it.ev = schemas.Event{}
		it.data, it.dataDone, it.customer = nil, false, nil
		err = unmarshal(rec.Value, &it.ev)
	}
	if err != nil {
		return nil, pipeline.Reject("bad_envelope", fmt.Errorf("decode %s: %w", schemas.EventSchema, err))
	}
	if it.ev.Type == schemas.TypeDeliveryUnprocessable && it.ev.Schema == schemas.EventSchema {
		return nil, unprocessable(&it.ev) // whatever else it lacks
	}
	if err := quickValidate(&it.ev); err != nil {
		return nil, pipeline.Reject("bad_envelope", err)
	}
	if err = it.decodeData(); err != nil {
		return nil, pipeline.Reject("bad_data", fmt.Errorf("%s data: %w", it.ev.Type, err))
	}
	if len(it.ev.Attributes) == 0 && it.ev.Identifiers == nil && it.ev.Consent == nil {
		it.ev.SetSource(rec.Value)
	} else {
		it.adoptOutput()
	}
	if _, partial := it.data.(*schemas.Customer); !partial {
		// A customer is decoded without its address book (customerData):
		// only complete objects are shared with the sinks.
		it.ev.Object = it.data
	}
	rec.Cache, rec.Event = it, &it.ev
	return it, nil
}

// unprocessable rejects a delivery the source could not normalize: the
// engine writes it, envelope (raw body, headers) and reason, to the dead
// letters and the error history, from where `tajo replay` sends it again.
// Every stage loads its record, so whatever the chain, none passes.
func unprocessable(ev *schemas.Event) error {
	reason := strings.Join(ev.Problems, "; ")
	if reason == "" {
		reason = "the source could not normalize it"
	}
	// The source's reasons often name the topic already ("orders/create:
	// missing or zero \"id\""): name it once.
	if ev.Topic != "" && !strings.HasPrefix(reason, ev.Topic+": ") {
		reason = ev.Topic + ": " + reason
	}
	return pipeline.Reject(CodeUnprocessable, errors.New(reason))
}

// CodeUnprocessable is the rejection code of a schemas.TypeDeliveryUnprocessable event.
const CodeUnprocessable = "unprocessable_delivery"

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

// newData returns a pointer to the canonical type the event type names,
// or nil for types no stage reads (they pass through undecoded).
func newData(typ string) any {
	switch typ {
	case schemas.TypeCustomerCreated, schemas.TypeCustomerUpdated, schemas.TypeCustomerEnabled, schemas.TypeCustomerDisabled:
		return new(customerData)
	case schemas.TypeCustomerEmailConsentUpdated:
		return new(schemas.EmailConsentUpdate)
	case schemas.TypeCustomerSMSConsentUpdated:
		return new(schemas.SMSConsentUpdate)
	case schemas.TypeCustomerTagsAdded, schemas.TypeCustomerTagsRemoved:
		return new(schemas.CustomerTagsChange)
	case schemas.TypeCustomerPurchasingSummary:
		return new(schemas.PurchasingSummary)
	case schemas.TypeOrderPlaced, schemas.TypeOrderUpdated, schemas.TypeOrderPaid, schemas.TypeOrderFulfilled,
		schemas.TypeOrderPartiallyFulfilled, schemas.TypeOrderCancelled:
		return new(schemas.Order)
	case schemas.TypeOrderRefunded:
		return new(schemas.Refund)
	case schemas.TypeCustomerDeleted, schemas.TypeOrderDeleted, schemas.TypeCheckoutDeleted, schemas.TypeProductDeleted:
		return new(schemas.Deletion)
	case schemas.TypeCheckoutCreated, schemas.TypeCheckoutUpdated:
		return new(schemas.Checkout)
	case schemas.TypeProductCreated, schemas.TypeProductUpdated:
		return new(schemas.Product)
	case schemas.TypeCustomerRedact:
		return new(schemas.CustomerRedact) // the aggregates forget its profile
	case TypeCustomerRecency:
		return new(recencyData)
	}
	return nil
}

// customerData is a customer decoded without what no stage reads: its
// address book (expressions see default_address), which is most of a
// customer's bytes; tags get a decoder without the standard library's
// reflection. Everything else is schemas.Customer as is.
type customerData struct {
	schemas.Customer
	Addresses rawJSON  `json:"addresses"`
	Tags      fastTags `json:"tags"`
	store     custStore
}

// rawJSON keeps a value's bytes, pointing into the record (see parseData).
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// fastTags decodes Shopify's comma-separated tag string exactly as
// schemas.Tags does, and hands anything else (arrays, escapes) to it.
type fastTags schemas.Tags

func (t *fastTags) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && plainJSONText(b[1:len(b)-1]) {
		parts := strings.Split(string(b[1:len(b)-1]), ",")
		out := make(fastTags, 0, len(parts))
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		*t = out
		return nil
	}
	if out, ok := plainTagArray(b); ok {
		*t = out
		return nil
	}
	return (*schemas.Tags)(t).UnmarshalJSON(b)
}

// plainTagArray decodes ["a", "b"] when every element is a plain string
// (as schemas' plainStringArray does), in two allocations: one string of
// the whole array, which the tags are cut from, and the list.
func plainTagArray(b []byte) (fastTags, bool) {
	if len(b) < 2 || b[0] != '[' {
		return nil, false
	}
	s := string(b)
	out := make(fastTags, 0, strings.Count(s, `"`)/2)
	i := 1
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
	}
	skip()
	if i < len(s) && s[i] == ']' {
		i++
		skip()
		return out, i == len(s)
	}
	for {
		skip()
		if i >= len(s) || s[i] != '"' {
			return nil, false
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 || !plainJSONText(b[i+1:i+1+end]) {
			return nil, false
		}
		if p := strings.TrimSpace(s[i+1 : i+1+end]); p != "" {
			out = append(out, p)
		}
		i += end + 2
		skip()
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case ',':
			i++
		case ']':
			i++
			skip()
			return out, i == len(s)
		default:
			return nil, false
		}
	}
}

// plainJSONText reports whether b is the inside of a JSON string that
// needs no unescaping: no quote, backslash or control byte, valid UTF-8.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// setData keeps a decoded object and finds the customer it is about.
func (it *item) setData(v any) {
	it.data, it.dataDone = v, true
	switch d := v.(type) {
	case *customerData:
		c := &d.Customer
		c.Tags = schemas.Tags(d.Tags)
		if c.DefaultAddress == nil && len(d.Addresses) > 0 {
			// Only then is the address book needed: to find the default.
			_ = unmarshal(d.Addresses, &c.Addresses)
		}
		it.data, it.customer = c, c
	case *schemas.EmailConsentUpdate:
		it.customer = &schemas.Customer{ID: d.CustomerID, Email: d.EmailAddress, EmailMarketingConsent: d.EmailMarketingConsent}
	case *schemas.SMSConsentUpdate:
		it.customer = &schemas.Customer{ID: d.CustomerID, Phone: d.Phone, SMSMarketingConsent: d.SMSMarketingConsent}
	case *schemas.CustomerTagsChange:
		it.customer = &schemas.Customer{ID: d.CustomerID}
	case *schemas.PurchasingSummary:
		it.customer = &schemas.Customer{ID: d.CustomerID}
	case *recencyData:
		it.customer = &schemas.Customer{ID: d.CustomerID, Email: d.Email}
	case *schemas.Order:
		it.customer = orderCustomer(d)
	case *schemas.Checkout:
		it.customer = d.Customer
	}
}

// decodeData decodes Event.Data unless the envelope scanner already did.
func (it *item) decodeData() error {
	if it.dataDone || len(it.ev.Data) == 0 {
		return nil
	}
	v := newData(it.ev.Type)
	if v == nil {
		return nil
	}
	if err := unmarshal(it.ev.Data, v); err != nil {
		return err
	}
	it.setData(v)
	return nil
}

// parseData is the envelope scanner's hook: it decodes data in place,
// which also finds where data ends, so its bytes are read once. Strings
// without escapes point into the record's value instead of being copied
// (a third of the allocations of a customer): a record's Value is never
// modified once produced, and the item lives no longer than the record.
func (it *item) parseData(typ string, b []byte) (int, bool) {
	v := newData(typ)
	if v == nil {
		return 0, false
	}
	if d, ok := v.(*customerData); ok {
		if n, ok := decodeCustomerFast(b, d); ok {
			it.setData(v)
			return n, true
		}
		*d = customerData{}
	}
	rest, err := sjson.Parse(b, v, sjson.DontCopyString)
	if err != nil {
		return 0, false
	}
	it.setData(v)
	return len(b) - len(rest), true
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
		for _, k := range slices.Sorted(maps.Keys(m)) {
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

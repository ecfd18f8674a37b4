package transforms

import (
	"bytes"
	"encoding/json"
	"time"
	"unsafe"

	"github.com/segmentio/encoding/iso8601"

	"github.com/tajo/tajo/schemas"
)

// custStore is where the fast customer decoder puts what the customer's
// pointer fields point at: one allocation with the customer instead of
// one per pointer.
type custStore struct {
	defAddr            schemas.Address
	emc                schemas.EmailMarketingConsent
	smc                schemas.SMSMarketingConsent
	emcAt, smcAt, amAt time.Time
	am                 bool
	orders             schemas.Count
	spent              schemas.Money
}

// decodeCustomerFast decodes a customer as segmentio's decoder does with
// DontCopyString into a zero customerData, for the JSON tajo's sources
// write: known keys spelled exactly, once each, strings without escapes.
// It returns how many bytes of b it read (trailing spaces included, as
// sjson.Parse's rest), or ok false for anything else, including every
// input segmentio would reject: the caller then runs segmentio, so the
// result and the errors are segmentio's either way. One exception: the
// address book is skipped, not validated (rawArray), and decoded only
// when needed. FuzzCustomerFastDecode holds it to segmentio.
func decodeCustomerFast(b []byte, d *customerData) (n int, ok bool) {
	p := &scanner{b: b}
	p.ws()
	c := &d.Customer
	s := &d.store
	var seen uint32
	ok = p.object(func(key []byte) bool {
		bit := uint32(0)
		var ok bool
		switch string(key) {
		case "id":
			bit, ok = 1<<0, p.unmarshaler(&c.ID)
		case "admin_graphql_api_id":
			bit, ok = 1<<1, p.text(&c.AdminGraphQLAPIID)
		case "email":
			bit, ok = 1<<2, p.text(&c.Email)
		case "missing_email":
			bit, ok = 1<<3, p.boolean(&c.MissingEmail)
		case "phone":
			bit, ok = 1<<4, p.text(&c.Phone)
		case "first_name":
			bit, ok = 1<<5, p.text(&c.FirstName)
		case "last_name":
			bit, ok = 1<<6, p.text(&c.LastName)
		case "state":
			bit, ok = 1<<7, p.text(&c.State)
		case "note":
			bit, ok = 1<<8, p.text(&c.Note)
		case "currency":
			bit, ok = 1<<9, p.text(&c.Currency)
		case "locale":
			bit, ok = 1<<10, p.text(&c.Locale)
		case "verified_email":
			bit, ok = 1<<11, p.boolean(&c.VerifiedEmail)
		case "tax_exempt":
			bit, ok = 1<<12, p.boolean(&c.TaxExempt)
		case "created_at":
			bit, ok = 1<<13, p.timestamp(&c.CreatedAt)
		case "updated_at":
			bit, ok = 1<<14, p.timestamp(&c.UpdatedAt)
		case "tags":
			bit, ok = 1<<15, p.tags(&d.Tags)
		case "addresses":
			bit, ok = 1<<16, p.rawArray(&d.Addresses)
		case "default_address":
			bit = 1 << 17
			if ok = p.null(); !ok {
				ok = p.address(&s.defAddr)
				c.DefaultAddress = &s.defAddr
			}
		case "email_marketing_consent":
			bit = 1 << 18
			if ok = p.null(); !ok {
				ok = p.consent(&s.emc.State, &s.emc.OptInLevel, &s.emc.ConsentUpdatedAt, &s.emcAt, nil)
				c.EmailMarketingConsent = &s.emc
			}
		case "sms_marketing_consent":
			bit = 1 << 19
			if ok = p.null(); !ok {
				ok = p.consent(&s.smc.State, &s.smc.OptInLevel, &s.smc.ConsentUpdatedAt, &s.smcAt, &s.smc.ConsentCollectedFrom)
				c.SMSMarketingConsent = &s.smc
			}
		case "accepts_marketing":
			bit = 1 << 20
			if ok = p.null(); !ok {
				ok = p.boolean(&s.am)
				c.AcceptsMarketing = &s.am
			}
		case "accepts_marketing_updated_at":
			bit = 1 << 21
			if ok = p.null(); !ok {
				ok = p.timestamp(&s.amAt)
				c.AcceptsMarketingUpdatedAt = &s.amAt
			}
		case "marketing_opt_in_level":
			bit, ok = 1<<22, p.text(&c.MarketingOptInLevel)
		case "orders_count":
			bit = 1 << 23
			if ok = p.null(); !ok {
				ok = p.unmarshaler(&s.orders)
				c.OrdersCount = &s.orders
			}
		case "total_spent":
			bit = 1 << 24
			if ok = p.null(); !ok {
				ok = p.unmarshaler(&s.spent)
				c.TotalSpent = &s.spent
			}
		case "last_order_id":
			bit, ok = 1<<25, p.unmarshaler(&c.LastOrderID)
		case "last_order_name":
			bit, ok = 1<<26, p.text(&c.LastOrderName)
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	if !ok {
		return 0, false
	}
	p.ws()
	return p.i, true
}

func (p *scanner) address(a *schemas.Address) bool {
	var seen uint32
	return p.object(func(key []byte) bool {
		bit := uint32(0)
		var ok bool
		switch string(key) {
		case "id":
			bit, ok = 1<<0, p.unmarshaler(&a.ID)
		case "customer_id":
			bit, ok = 1<<1, p.unmarshaler(&a.CustomerID)
		case "first_name":
			bit, ok = 1<<2, p.text(&a.FirstName)
		case "last_name":
			bit, ok = 1<<3, p.text(&a.LastName)
		case "name":
			bit, ok = 1<<4, p.text(&a.Name)
		case "company":
			bit, ok = 1<<5, p.text(&a.Company)
		case "address1":
			bit, ok = 1<<6, p.text(&a.Address1)
		case "address2":
			bit, ok = 1<<7, p.text(&a.Address2)
		case "city":
			bit, ok = 1<<8, p.text(&a.City)
		case "province":
			bit, ok = 1<<9, p.text(&a.Province)
		case "province_code":
			bit, ok = 1<<10, p.text(&a.ProvinceCode)
		case "country":
			bit, ok = 1<<11, p.text(&a.Country)
		case "country_code":
			bit, ok = 1<<12, p.text(&a.CountryCode)
		case "country_name":
			bit, ok = 1<<13, p.text(&a.CountryName)
		case "zip":
			bit, ok = 1<<14, p.text(&a.Zip)
		case "phone":
			bit, ok = 1<<15, p.text(&a.Phone)
		case "default":
			bit, ok = 1<<16, p.boolean(&a.Default)
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

// consent decodes an email or SMS consent record; collected is nil for
// the email one, which has no consent_collected_from.
func (p *scanner) consent(state, level *string, at **time.Time, atStore *time.Time, collected *string) bool {
	var seen uint32
	return p.object(func(key []byte) bool {
		bit := uint32(0)
		var ok bool
		switch string(key) {
		case "state":
			bit, ok = 1<<0, p.text(state)
		case "opt_in_level":
			bit, ok = 1<<1, p.text(level)
		case "consent_updated_at":
			bit = 1 << 2
			if ok = p.null(); !ok {
				ok = p.timestamp(atStore)
				*at = atStore
			}
		case "consent_collected_from":
			if collected == nil {
				return false
			}
			bit, ok = 1<<3, p.text(collected)
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

// object reads an object whose keys are plain strings, calling field with
// the scanner at each value; field must consume the value.
func (p *scanner) object(field func(key []byte) bool) bool {
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		return true
	}
	for {
		p.ws()
		key, ok := p.plainBytes()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		if !field(key) {
			return false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// null consumes a JSON null; pointer fields stay nil on null, as with
// segmentio (whose pointers start nil here).
func (p *scanner) null() bool {
	if bytes.HasPrefix(p.b[p.i:], []byte("null")) && p.delimited(p.i+4) {
		p.i += 4
		return true
	}
	return false
}

// delimited reports whether a literal ending at j is followed by the end
// of the input or a character that can follow a value.
func (p *scanner) delimited(j int) bool {
	if j >= len(p.b) {
		return true
	}
	switch p.b[j] {
	case ' ', '\n', '\r', '\t', ',', '}', ']':
		return true
	}
	return false
}

// plainString returns the bytes of a string value with its quotes when it
// needs no unescaping (segmentio then returns its bytes as they are).
func (p *scanner) plainString() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(p.b[p.i+1:], '"')
	if end < 0 {
		return nil, false
	}
	v := p.b[p.i : p.i+end+2]
	if !plainJSONText(v[1 : len(v)-1]) {
		return nil, false
	}
	p.i += end + 2
	return v, true
}

// text is a string field; the value points into the record, as with
// segmentio's DontCopyString.
func (p *scanner) text(dst *string) bool {
	v, ok := p.plainString()
	if !ok {
		return false
	}
	v = v[1 : len(v)-1]
	*dst = unsafe.String(unsafe.SliceData(v), len(v))
	return true
}

func (p *scanner) boolean(dst *bool) bool {
	rest := p.b[p.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")) && p.delimited(p.i+4):
		*dst = true
		p.i += 4
	case bytes.HasPrefix(rest, []byte("false")) && p.delimited(p.i+5):
		*dst = false
		p.i += 5
	default:
		return false
	}
	return true
}

// timestamp is segmentio's decodeTime: the text up to the next quote, parsed
// by its iso8601 package.
func (p *scanner) timestamp(dst *time.Time) bool {
	v, ok := p.plainString()
	if !ok {
		return false
	}
	v = v[1 : len(v)-1]
	t, err := iso8601.Parse(unsafe.String(unsafe.SliceData(v), len(v)))
	if err != nil {
		return false
	}
	*dst = t
	return true
}

// unmarshaler hands a plain string or a JSON number to the type's own
// UnmarshalJSON, the bytes segmentio would hand it.
func (p *scanner) unmarshaler(u json.Unmarshaler) bool {
	start := p.i
	if _, ok := p.plainString(); !ok && !p.number() {
		return false
	}
	if u.UnmarshalJSON(p.b[start:p.i]) != nil {
		p.i = start
		return false
	}
	return true
}

// number consumes a number of JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *scanner) number() bool {
	b, i := p.b, p.i
	digits := func() int {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	if !p.delimited(i) {
		return false
	}
	p.i = i
	return true
}

// tags takes a plain string or an array that fastTags decodes on its own
// fast paths.
func (p *scanner) tags(dst *fastTags) bool {
	if v, ok := p.plainString(); ok {
		return dst.UnmarshalJSON(v) == nil
	}
	start := p.i
	v, err := p.raw()
	if err != nil || len(v) == 0 || v[0] != '[' {
		return false
	}
	out, ok := plainTagArray(v)
	if !ok {
		p.i = start
		return false
	}
	*dst = out
	return true
}

// rawArray keeps an array's bytes (the address book).
func (p *scanner) rawArray(dst *rawJSON) bool {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return false
	}
	// Skipped, not validated: its strings and brackets balance, and it is
	// decoded (validated) only when no default_address names the default
	// (setData). The record's raw body is skipped the same way.
	b, err := p.raw()
	if err != nil {
		return false
	}
	*dst = b
	return true
}

package transforms

import (
	"encoding/binary"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// Freshness is kept per source of an attribute (DESIGN.md invariant 3).
//
// An event's own time orders it: the object's updated_at (or its consent
// time, its occurredAt), or X-Shopify-Triggered-At for a delivery whose
// object has none. Never its receive time: sources date an event that has
// neither by its receipt (schemas requires an occurred_at), and a receive
// time recorded as freshness would make every genuine update dated before
// it look stale. Such an event is guarded by its id alone.
//
// A customer has three sources of its profile: customer records
// (customers/create, update, enable, disable, backfilled and reconciled
// customers), the consent topics, and the customer snapshot embedded in
// orders and checkouts. The guard's per-entity marks already hold, durably,
// the time of the newest customer record and consent update applied; a
// snapshot older than them is withheld from the expressions (names, phone,
// address, tags, locale, note, state; consent), so the default mapping
// leaves those attributes out and Brevo keeps the newer values. A snapshot
// at least as new as the newest record fills them: it is the customer as
// Shopify had it then. It does not count as a customer record itself (the
// customers/update of the same change follows it). Email and id stay:
// they are how the contact is found. Aggregates come from the orders and
// are unaffected.

// objectTime is the time the event's object carries, zero when the source
// could only date the event by its receipt.
func objectTime(it *item) time.Time {
	ev := &it.ev
	if !ev.OccurredAt.Equal(ev.ReceivedAt) {
		return ev.OccurredAt
	}
	// occurred_at == received_at is how a source writes "no object time";
	// the object may still say when it changed.
	switch d := it.data.(type) {
	case *schemas.Customer:
		return d.UpdatedAt
	case *schemas.Order:
		return d.UpdatedAt
	case *schemas.Checkout:
		return d.UpdatedAt
	case *schemas.Product:
		return d.UpdatedAt
	case *schemas.EmailConsentUpdate:
		if c := d.EmailMarketingConsent; c != nil && c.ConsentUpdatedAt != nil {
			return *c.ConsentUpdatedAt
		}
	case *schemas.SMSConsentUpdate:
		if c := d.SMSMarketingConsent; c != nil && c.ConsentUpdatedAt != nil {
			return *c.ConsentUpdatedAt
		}
	case *schemas.PurchasingSummary:
		return d.OccurredAt
	}
	return time.Time{}
}

// What of a customer snapshot is withheld, as bits of item.withheld.
const (
	withholdProfile = 1 << iota
	withholdEmailConsent
	withholdSMSConsent
)

// carriesSnapshot reports whether events of typ embed a customer snapshot.
func carriesSnapshot(typ string) bool {
	switch family(typ) {
	case "order", "checkout":
		return true
	}
	return false
}

// snapshot decides which parts of an order's or checkout's customer
// snapshot are older than what customer records and consent updates
// already applied, from the guard's marks of that customer.
func (g *guard) snapshot(it *item) error {
	c := it.customer
	if c == nil || c.ID == 0 {
		return nil // a guest: no customer record can be newer
	}
	id := c.ID.String()
	profile, err := g.newest(it.ev.Shop, "customer", id)
	if err != nil {
		return err
	}
	email, err := g.newest(it.ev.Shop, "email_consent", id)
	if err != nil {
		return err
	}
	sms, err := g.newest(it.ev.Shop, "sms_consent", id)
	if err != nil {
		return err
	}
	at := c.UpdatedAt.UnixNano()
	if c.UpdatedAt.IsZero() {
		at = 0 // older than any record
	}
	var w uint8
	if profile != 0 && at < profile {
		w |= withholdProfile
	}
	if p := max(profile, email); p != 0 && at < p {
		w |= withholdEmailConsent
	}
	if p := max(profile, sms); p != 0 && at < p {
		w |= withholdSMSConsent
	}
	if w != it.withheld {
		it.withheld, it.envDone = w, false
	}
	return nil
}

// newest is the time (unix ns) of the newest update applied to an entity
// in a family, 0 when none was.
func (g *guard) newest(shop, fam, id string) (int64, error) {
	mark, err := g.c.store.Get(bucketLast, shop+"\x00"+fam+"\x00"+id)
	if err != nil {
		return 0, pipeline.Retry(err)
	}
	if len(mark) < markEntry || len(mark)%markEntry != 0 {
		return 0, nil
	}
	return int64(binary.LittleEndian.Uint64(mark)), nil
}

// withhold blanks the parts of a customer view that a newer source set.
func withhold(w uint8, e *expression.Env) {
	if w&withholdProfile != 0 {
		v := e.Customer
		v.FirstName, v.LastName, v.Phone, v.State, v.Note = "", "", "", "", ""
		v.Currency, v.Locale, v.Tags, v.DefaultAddress = "", "", nil, expression.AddressView{}
		v.VerifiedEmail, v.TaxExempt = false, false
		// The buyer's language at the order is the profile's too: the
		// default LANGUAGE falls back on it.
		if e.Order != &zeroOrder {
			e.Order.CustomerLocale = ""
		}
		if e.Checkout != &zeroCheckout {
			e.Checkout.CustomerLocale = ""
		}
	}
	if w&withholdEmailConsent != 0 {
		e.Customer.EmailConsent, e.Customer.EmailOptInLevel, e.Customer.AcceptsMarketing = "", "", false
	}
	if w&withholdSMSConsent != 0 {
		e.Customer.SMSConsent = ""
	}
}

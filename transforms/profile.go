package transforms

import (
	"strconv"
	"strings"

	"github.com/tajo/tajo/schemas"
)

// The profile is what the aggregates keep of a customer beside its
// orders, in the same record (customerAgg), so an event reads both at the
// cost of one:
//
//   - the email, so that events that name the customer by id only (a
//     refund found through the order ledger, a tag change, a purchasing
//     summary, the daily RECENCY sweep) reach the contact by email, the key
//     Brevo imports by;
//   - the current tag set, so that customer_tags_added/removed (deltas)
//     and customer payloads without tags (API 2025-01 and later) still
//     send the whole TAGS list;
//   - whether a customer record of it was applied from a backfill, a
//     reconciliation or a customers/create, which decides whether a
//     customers/create is a new customer (customer_created) or not.
//
// A customers/delete or customers/redact forgets the email and the tags.

// historicalSource reports whether events of src read existing objects
// back from Shopify (backfill, reconciliation) rather than report a change
// as it happens.
func historicalSource(src string) bool {
	src = strings.ToLower(src)
	return src == "backfill" || src == "reconcile" || strings.HasSuffix(src, ".backfill") || strings.HasSuffix(src, ".reconcile")
}

// updateProfile applies what the event says of the customer's profile to
// a and reports whether a changed. created is true for a customers/create
// of a customer tajo did not know: the only customer_created that starts
// a welcome series.
func (a *customerAgg) updateProfile(it *item) (changed, created bool) {
	ev := &it.ev
	switch d := it.data.(type) {
	case *schemas.Customer:
		if d.Email != "" && a.Email != d.Email {
			// Cloned, here and below: the profile outlives the record,
			// whose decoded strings point into its bytes (a cached
			// profile would keep a whole 5 KB line alive for an email).
			a.Email, changed = strings.Clone(d.Email), true
		}
		if len(d.Tags) > 0 && !d.UpdatedAt.Before(a.TagsAt) && !equalTags(a.Tags, d.Tags) {
			a.Tags, a.TagsAt, changed = cloneStrings(d.Tags), d.UpdatedAt, true
		}
		if ev.Type == schemas.TypeCustomerCreated || historicalSource(ev.Source) {
			created = ev.Type == schemas.TypeCustomerCreated && !a.Known && !historicalSource(ev.Source)
			if !a.Known {
				a.Known, changed = true, true
			}
		}
	case *schemas.Order, *schemas.Checkout:
		// A snapshot's email fills a profile that has none; the customer's
		// own records decide it otherwise.
		if c := it.customer; c != nil && c.Email != "" && a.Email == "" {
			a.Email, changed = strings.Clone(c.Email), true
		}
	case *schemas.EmailConsentUpdate:
		if d.EmailAddress != "" && a.Email != d.EmailAddress {
			a.Email, changed = strings.Clone(d.EmailAddress), true
		}
	case *schemas.CustomerTagsChange:
		at := d.OccurredAt
		if at.IsZero() {
			at = ev.OccurredAt
		}
		if at.Before(a.TagsAt) {
			break // the tag set applied is newer: it already says the outcome
		}
		tags := applyTagChange(a.Tags, d.Tags, ev.Type == schemas.TypeCustomerTagsAdded)
		a.TagsAt, changed = at, true
		a.Tags = cloneStrings(tags)
	case *schemas.Deletion:
		if ev.Type == schemas.TypeCustomerDeleted && (a.Email != "" || a.Tags != nil) {
			a.Email, a.Tags, changed = "", nil, true
		}
	case *schemas.CustomerRedact:
		if a.Email != "" || a.Tags != nil {
			a.Email, a.Tags, changed = "", nil, true
		}
	}
	return changed, created
}

// fillCustomer completes, from the profile, the customer an event names by
// id only, and the tags of a customer payload that carries none. Orders
// and checkouts keep their snapshot as it is (see freshness.go).
func (a *customerAgg) fillCustomer(it *item, key string) {
	switch it.data.(type) {
	case *schemas.Order, *schemas.Checkout:
		return
	case *schemas.Refund:
		if it.customer == nil {
			it.customer = stubCustomer(key)
		}
	}
	c := it.customer
	if c == nil {
		return
	}
	if c.Email == "" && a.Email != "" {
		c.Email = a.Email
	}
	if len(c.Tags) == 0 && len(a.Tags) > 0 {
		c.Tags = a.Tags
	}
}

// stubCustomer is the customer of a ledger key: a customer id, or the
// email of a guest.
func stubCustomer(key string) *schemas.Customer {
	if email, ok := strings.CutPrefix(key, "email:"); ok {
		return &schemas.Customer{Email: email}
	}
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return nil
	}
	return &schemas.Customer{ID: schemas.ID(id)}
}

func equalTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// applyTagChange adds or removes tags (ignoring case and spaces, as
// Shopify does) and returns the new set; removing the last tag gives an
// empty, non-nil set.
func applyTagChange(cur, change []string, add bool) []string {
	out := make([]string, 0, len(cur)+len(change))
	for _, t := range cur {
		if add || !containsFold(change, t) {
			out = append(out, t)
		}
	}
	if add {
		for _, t := range change {
			if t = strings.TrimSpace(t); t != "" && !containsFold(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// cloneStrings copies a list and its strings out of a record's bytes.
func cloneStrings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

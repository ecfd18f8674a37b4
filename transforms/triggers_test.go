package transforms

import (
	"reflect"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// order_refunded names no buyer: the chain takes it from the order ledger
// and sends, to that contact, the totals after the refund.
func TestRefundReachesTheBuyerFromTheLedger(t *testing.T) {
	at1, at2 := t0.Add(-72*time.Hour), t0.Add(-30*time.Hour)
	refund := `{"id":9,"order_id":1002,"transactions":[{"id":1,"kind":"refund","status":"success","amount":"20.00"}]}`
	for _, tc := range []struct {
		name   string
		orders []string // the orders known before the refund
		ident  schemas.Identifiers
		attrs  map[string]any
	}{
		{
			name:   "a known buyer gets the totals after the refund",
			orders: []string{order(1001, "100.00", at1), order(1002, "50.50", at2)},
			ident:  schemas.Identifiers{Email: "zoe@example.com", ExtID: "42"},
			attrs: map[string]any{"ORDER_COUNT": 2.0, "TOTAL_SPENT": 130.5, "AOV": 65.25, "LAST_ORDER_DATE": at2.Format("2006-01-02"),
				"RECENCY": 1.0, "CUSTOMER_TYPE": "returning", "VIP_TIER": "bronze"},
		},
		{
			name:   "a guest order's buyer is found by email",
			orders: []string{`{"id":1002,"email":"guest@example.com","total_price":"50.50","created_at":"` + at2.Format(time.RFC3339) + `"}`},
			ident:  schemas.Identifiers{Email: "guest@example.com"},
			attrs: map[string]any{"ORDER_COUNT": 1.0, "TOTAL_SPENT": 30.5, "AOV": 30.5, "LAST_ORDER_DATE": at2.Format("2006-01-02"),
				"RECENCY": 1.0, "CUSTOMER_TYPE": "new", "VIP_TIER": "bronze"},
		},
		{
			// Marked for the sink by the absence of identifiers: it
			// records the refund skipped, "refund of an order without a
			// known buyer".
			name: "an order tajo never saw: no identifiers, no attributes",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			for i, o := range tc.orders {
				c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", itoa(int64(1001+i)), at1.Add(time.Duration(i)*time.Hour), o)))
			}
			out := c.mustRun(record(t, event(t, schemas.TypeOrderRefunded, "refund", "9", t0.Add(-time.Hour), refund)))
			if out == nil {
				t.Fatal("the refund was dropped")
			}
			var got schemas.Identifiers
			if out.Identifiers != nil {
				got = *out.Identifiers
			}
			if got != tc.ident {
				t.Errorf("identifiers = %+v, want %+v", got, tc.ident)
			}
			if len(out.Attrs) != len(tc.attrs) || (len(tc.attrs) > 0 && !reflect.DeepEqual(out.Attrs, tc.attrs)) {
				t.Errorf("attributes = %v, want %v", out.Attrs, tc.attrs)
			}
			if out.Type != schemas.TypeOrderRefunded {
				t.Errorf("type = %s", out.Type)
			}
		})
	}
}

// customer_created is a new customer's: a customers/create of a customer
// tajo already knew, from a backfill, a reconciliation or an earlier
// create, is an update of it (and so starts no welcome series).
func TestCustomerCreatedOnlyForNewCustomers(t *testing.T) {
	created := func(id, source string, at time.Time) *schemas.Event {
		e := event(t, schemas.TypeCustomerCreated, "customer", id, at,
			`{"id":`+id+`,"email":"c`+id+`@example.com","first_name":"Ana","created_at":"`+at.Format(time.RFC3339)+`","updated_at":"`+at.Format(time.RFC3339)+`"}`)
		e.Source, e.Topic = source, "customers/create"
		return e
	}
	backfilled := func(id, source string, at time.Time) *schemas.Event {
		e := event(t, schemas.TypeCustomerUpdated, "customer", id, at, `{"id":`+id+`,"email":"c`+id+`@example.com","updated_at":"`+at.Format(time.RFC3339)+`"}`)
		e.Source = source
		return e
	}
	for _, tc := range []struct {
		name   string
		before []*schemas.Event
		ev     *schemas.Event
		want   string
	}{
		{"a new customer", nil, created("1", "shopify", t0), schemas.TypeCustomerCreated},
		{"a backfilled customer", nil, created("2", "shopify.backfill", t0), schemas.TypeCustomerUpdated},
		{"a reconciled customer", nil, created("3", "shopify.reconcile", t0), schemas.TypeCustomerUpdated},
		{"known from a backfill", []*schemas.Event{backfilled("4", "shopify.backfill", t0.Add(-time.Hour))}, created("4", "shopify", t0), schemas.TypeCustomerUpdated},
		{"created twice under two webhook ids", []*schemas.Event{created("5", "shopify", t0)}, func() *schemas.Event {
			e := created("5", "shopify", t0)
			e.ID = schemas.NewID("another webhook id")
			return e
		}(), schemas.TypeCustomerUpdated},
		{"known from an order only", []*schemas.Event{func() *schemas.Event {
			return event(t, schemas.TypeOrderPlaced, "order", "1001", t0.Add(-time.Minute), order(1001, "10.00", t0.Add(-time.Minute)))
		}()}, created("42", "shopify", t0), schemas.TypeCustomerCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			for _, e := range tc.before {
				c.mustRun(record(t, e))
			}
			out := c.mustRun(record(t, tc.ev))
			if out == nil {
				t.Fatal("dropped")
			}
			if out.Type != tc.want {
				t.Errorf("type = %s, want %s", out.Type, tc.want)
			}
			// Either way the contact gets its attributes.
			if out.Attrs["FIRSTNAME"] != "Ana" || out.Identifiers == nil || out.Identifiers.Email == "" {
				t.Errorf("attributes %v, identifiers %+v", out.Attrs, out.Identifiers)
			}
			if out.Topic != tc.ev.Topic || string(out.Data) != string(tc.ev.Data) {
				t.Errorf("the envelope changed beyond its type: topic %q, data %s", out.Topic, out.Data)
			}
		})
	}
}

// The tag topics carry only the changed tags; TAGS is the whole set, kept
// in the state, so it stays right across restarts and out-of-order deltas.
func TestTagTopicsUpdateTheWholeTagSet(t *testing.T) {
	tagsEv := func(typ string, at time.Time, tags ...string) *schemas.Event {
		d := schemas.CustomerTagsChange{CustomerID: 42, Tags: tags, OccurredAt: at}
		return event(t, typ, "customer", "42", at, d)
	}
	customer := func(at time.Time, tags string) *schemas.Event {
		return event(t, schemas.TypeCustomerUpdated, "customer", "42", at,
			`{"id":42,"email":"zoe@example.com","tags":"`+tags+`","updated_at":"`+at.Format(time.RFC3339)+`"}`)
	}
	added, removed := schemas.TypeCustomerTagsAdded, schemas.TypeCustomerTagsRemoved
	for _, tc := range []struct {
		name   string
		events []*schemas.Event
		tags   any // TAGS of the last output; nil: left out
		vip    any
	}{
		{"added to a known set", []*schemas.Event{customer(t0, "a, b"), tagsEv(added, t0.Add(time.Minute), "vip")}, "a, b, vip", "vip"},
		{"added to an unknown customer", []*schemas.Event{tagsEv(added, t0, "vip", "x")}, "vip, x", "vip"},
		{"added twice is once", []*schemas.Event{customer(t0, "a"), tagsEv(added, t0.Add(time.Minute), "A"), tagsEv(added, t0.Add(2*time.Minute), "b")}, "a, b", nil},
		{"removed, ignoring case", []*schemas.Event{customer(t0, "a, VIP, b"), tagsEv(removed, t0.Add(time.Minute), "vip")}, "a, b", nil},
		{"a delta older than the set applied changes nothing", []*schemas.Event{customer(t0, "a, b"), tagsEv(removed, t0.Add(-time.Minute), "a")}, "a, b", nil},
		{"a payload without tags sends the kept set", []*schemas.Event{tagsEv(added, t0, "vip"), event(t, schemas.TypeCustomerUpdated, "customer", "42", t0.Add(time.Minute),
			`{"id":42,"email":"zoe@example.com","first_name":"Zoë","updated_at":"`+t0.Add(time.Minute).Format(time.RFC3339)+`"}`)}, "vip", "vip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			var out *output2
			for _, e := range tc.events {
				out = c.mustRun(record(t, e))
			}
			if out == nil {
				t.Fatal("dropped")
			}
			if out.Attrs["TAGS"] != tc.tags || out.Attrs["VIP_TIER"] != tc.vip {
				t.Errorf("TAGS = %v, VIP_TIER = %v, want %v, %v (all %v)", out.Attrs["TAGS"], out.Attrs["VIP_TIER"], tc.tags, tc.vip, out.Attrs)
			}
			if out.Identifiers == nil || out.Identifiers.ExtID != "42" {
				t.Errorf("identifiers = %+v", out.Identifiers)
			}
		})
	}
}

package transforms

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// delivered is a webhook event as a source writes it: dated by its
// object's time, received a little later.
func delivered(t testing.TB, typ, kind, entity string, occurred, received time.Time, data string) *pipeline.Record {
	t.Helper()
	e := event(t, typ, kind, entity, occurred, data)
	e.ReceivedAt = received
	e.ID = schemas.NewID("test", typ, entity, occurred.String(), received.String())
	return record(t, e)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// rename is a customers/update of customer 42 at at.
func rename(t testing.TB, first string, at time.Time) *pipeline.Record {
	return delivered(t, schemas.TypeCustomerUpdated, "customer", "42", at, at.Add(2*time.Second),
		fmt.Sprintf(`{"id":42,"email":"zoe@example.com","first_name":%q,"last_name":"Newname","phone":"+33612345678","updated_at":%q,"email_marketing_consent":{"state":"unsubscribed"}}`, first, rfc(at)))
}

// snapshotOrder is an orders/create of customer 42 whose embedded
// customer is as of snap (zero: no updated_at), delivered at received.
func snapshotOrder(t testing.TB, typ string, id int64, first string, snap, received time.Time) *pipeline.Record {
	upd := ""
	if !snap.IsZero() {
		upd = fmt.Sprintf(`,"updated_at":%q`, rfc(snap))
	}
	placed := received.Add(-time.Hour)
	if !snap.IsZero() {
		placed = snap
	}
	cust := fmt.Sprintf(`{"id":42,"email":"zoe@example.com","first_name":%q,"last_name":"Oldname","phone":"+33699999999","email_marketing_consent":{"state":"subscribed"}%s}`, first, upd)
	switch typ {
	case schemas.TypeCheckoutCreated:
		return delivered(t, typ, "checkout", itoa(id), placed, received,
			fmt.Sprintf(`{"id":%d,"token":"tok%d","email":"zoe@example.com","total_price":"10.00","customer_locale":"de","created_at":%q,"updated_at":%q,"customer":%s}`, id, id, rfc(placed), rfc(placed), cust))
	}
	return delivered(t, typ, "order", itoa(id), placed, received,
		fmt.Sprintf(`{"id":%d,"total_price":"80.00","customer_locale":"de","created_at":%q,"updated_at":%q,"customer":%s}`, id, rfc(placed), rfc(placed), cust))
}

func emailConsent(t testing.TB, state string, at time.Time) *pipeline.Record {
	return delivered(t, schemas.TypeCustomerEmailConsentUpdated, "customer", "42", at, at.Add(time.Second),
		fmt.Sprintf(`{"customer_id":42,"email_address":"zoe@example.com","email_marketing_consent":{"state":%q,"consent_updated_at":%q}}`, state, rfc(at)))
}

// An order's embedded customer snapshot never overwrites what a newer
// customer record set, and still fills what nothing newer did.
func TestCustomerSnapshotFreshness(t *testing.T) {
	renamed := t0.Add(-time.Hour) // the customers/update
	older := renamed.Add(-time.Hour)
	newer := renamed.Add(5 * time.Minute)
	absent := "<absent>"
	for _, tc := range []struct {
		name   string
		inputs []*pipeline.Record
		want   map[string]any // attribute → value, or absent
		email  string         // consent.email of the last output, "" absent
	}{
		{
			name:   "rename then an older order: the new name stays",
			inputs: []*pipeline.Record{rename(t, "New", renamed), snapshotOrder(t, schemas.TypeOrderPlaced, 1, "Old", older, renamed.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": absent, "LASTNAME": absent, "SMS": absent, "LANGUAGE": absent, "ORDER_COUNT": 1.0, "TOTAL_SPENT": 80.0},
		},
		{
			name:   "rename then an older checkout: the new name stays",
			inputs: []*pipeline.Record{rename(t, "New", renamed), snapshotOrder(t, schemas.TypeCheckoutCreated, 2, "Old", older, renamed.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": absent, "LASTNAME": absent, "SMS": absent},
		},
		{
			name:   "rename then an order whose snapshot has no updated_at: withheld",
			inputs: []*pipeline.Record{rename(t, "New", renamed), snapshotOrder(t, schemas.TypeOrderPlaced, 3, "Old", time.Time{}, renamed.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": absent, "ORDER_COUNT": 1.0},
		},
		{
			name:   "first order of a customer tajo never saw fills the profile",
			inputs: []*pipeline.Record{snapshotOrder(t, schemas.TypeOrderPlaced, 4, "Zoë", older, renamed)},
			want:   map[string]any{"FIRSTNAME": "Zoë", "LASTNAME": "Oldname", "SMS": "+33699999999", "LANGUAGE": "de", "ORDER_COUNT": 1.0},
			email:  "subscribed",
		},
		{
			name:   "a snapshot newer than the last customer record fills it",
			inputs: []*pipeline.Record{rename(t, "New", renamed), snapshotOrder(t, schemas.TypeOrderPlaced, 5, "Newest", newer, newer.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": "Newest", "LASTNAME": "Oldname"},
			email:  "subscribed",
		},
		{
			name:   "a snapshot of the same time as the customer record fills it",
			inputs: []*pipeline.Record{rename(t, "New", renamed), snapshotOrder(t, schemas.TypeOrderPlaced, 6, "New", renamed, renamed.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": "New"},
			email:  "subscribed",
		},
		{
			name:   "a newer consent update keeps the consent; the names still fill",
			inputs: []*pipeline.Record{emailConsent(t, "unsubscribed", renamed), snapshotOrder(t, schemas.TypeOrderPlaced, 7, "Zoë", older, renamed.Add(time.Minute))},
			want:   map[string]any{"FIRSTNAME": "Zoë", "SMS": "+33699999999"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			var o *output2
			for _, r := range tc.inputs {
				o = c.mustRun(r)
			}
			if o == nil {
				t.Fatal("the last event was dropped")
			}
			for k, want := range tc.want {
				got, ok := o.Attrs[k]
				if want == absent {
					if ok {
						t.Errorf("%s = %v, want it left out (Brevo keeps the newer value)", k, got)
					}
					continue
				}
				if got != want {
					t.Errorf("%s = %v, want %v (all %v)", k, got, want, o.Attrs)
				}
			}
			got := ""
			if o.Consent != nil {
				got = o.Consent.Email
			}
			if got != tc.email {
				t.Errorf("consent.email = %q, want %q", got, tc.email)
			}
			if o.Identifiers == nil || o.Identifiers.Email != "zoe@example.com" || o.Identifiers.ExtID != "42" {
				t.Errorf("identifiers %+v: the contact must still be found", o.Identifiers)
			}
		})
	}
}

// The real orders/create test payload: its customer has updated_at null.
func TestFixtureOrderAfterARenameKeepsTheName(t *testing.T) {
	body := fixture(t, "orders-create.json")
	data := canonical(t, body, new(schemas.Order))
	at := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	ord := delivered(t, schemas.TypeOrderPlaced, "order", "820982911946154508", at, at.Add(time.Minute), string(data))

	c := newChain(t, "")
	if o := c.mustRun(&pipeline.Record{Value: valueOf(t, ord)}); o.Attrs["FIRSTNAME"] != "John" {
		t.Fatalf("first order of an unknown customer: %v", o.Attrs)
	}
	c = newChain(t, "")
	c.mustRun(delivered(t, schemas.TypeCustomerUpdated, "customer", "115310627314723954", at.Add(-time.Hour), at.Add(-time.Hour),
		`{"id":115310627314723954,"email":"john@example.com","first_name":"Johnny","updated_at":"2021-12-31T23:00:00Z"}`))
	o := c.mustRun(&pipeline.Record{Value: valueOf(t, ord)})
	if _, ok := o.Attrs["FIRSTNAME"]; ok {
		t.Fatalf("the order's snapshot overwrote the rename: %v", o.Attrs)
	}
	if _, ok := o.Attrs["ORDER_COUNT"]; !ok {
		t.Fatalf("aggregates: %v", o.Attrs) // still computed from the orders
	}
}

// An event without an object time is dated by its receipt: that time must
// never make a genuine update dated before it stale.
func TestGuardNeverOrdersByReceiveTime(t *testing.T) {
	at := t0.Add(-time.Hour)
	noTime := func(state string, received time.Time) *pipeline.Record {
		// No consent_updated_at and no X-Shopify-Triggered-At: the source
		// dates it by its receipt (occurred_at == received_at).
		return delivered(t, schemas.TypeCustomerEmailConsentUpdated, "customer", "42", received, received,
			`{"customer_id":42,"email_address":"zoe@example.com","email_marketing_consent":{"state":"`+state+`"}}`)
	}
	triggered := func(state string, trig, received time.Time) *pipeline.Record {
		return delivered(t, schemas.TypeCustomerEmailConsentUpdated, "customer", "42", trig, received,
			`{"customer_id":42,"email_address":"zoe@example.com","email_marketing_consent":{"state":"`+state+`"}}`)
	}
	for _, tc := range []struct {
		name    string
		inputs  []*pipeline.Record
		dropped bool
		consent string
	}{
		{"an update dated before an earlier receive applies",
			[]*pipeline.Record{noTime("unsubscribed", at.Add(5*time.Second)), emailConsent(t, "subscribed", at.Add(time.Second))}, false, "subscribed"},
		{"an update without object time is never stale",
			[]*pipeline.Record{emailConsent(t, "subscribed", at.Add(time.Minute)), noTime("unsubscribed", at.Add(2*time.Minute))}, false, "unsubscribed"},
		{"an order update without updated_at does not hide an earlier-dated one",
			[]*pipeline.Record{
				delivered(t, schemas.TypeOrderUpdated, "order", "77", at.Add(5*time.Second), at.Add(5*time.Second), `{"id":77,"total_price":"5.00","customer":{"id":42,"email":"zoe@example.com"}}`),
				delivered(t, schemas.TypeOrderPaid, "order", "77", at.Add(time.Second), at.Add(6*time.Second), `{"id":77,"total_price":"5.00","updated_at":"`+rfc(at.Add(time.Second))+`","customer":{"id":42,"email":"zoe@example.com"}}`),
			}, false, ""},
		{"an event dated by X-Shopify-Triggered-At still orders",
			[]*pipeline.Record{triggered("unsubscribed", at.Add(5*time.Second), at.Add(7*time.Second)), emailConsent(t, "subscribed", at.Add(time.Second))}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			var o *output2
			for _, r := range tc.inputs {
				o = c.mustRun(r)
			}
			if (o == nil) != tc.dropped {
				t.Fatalf("dropped = %v, want %v", o == nil, tc.dropped)
			}
			if tc.consent != "" && (o.Consent == nil || o.Consent.Email != tc.consent) {
				t.Fatalf("consent %+v, want %s", o.Consent, tc.consent)
			}
		})
	}
}

// An event without object time is still deduplicated by its id.
func TestEventWithoutObjectTimeIsDeduplicated(t *testing.T) {
	c := newChain(t, "")
	body := `{"customer_id":42,"email_address":"zoe@example.com","email_marketing_consent":{"state":"subscribed"}}`
	e := event(t, schemas.TypeCustomerEmailConsentUpdated, "customer", "42", t0, body)
	first := record(t, e)
	c.mustRun(&pipeline.Record{Value: valueOf(t, first)})
	if o := c.mustRun(&pipeline.Record{Value: valueOf(t, first)}); o == nil {
		t.Fatal("a redelivery of the same message was dropped")
	}
	dup := *e
	dup.ReceivedAt, dup.OccurredAt = t0.Add(time.Minute), t0.Add(time.Minute) // Shopify's retry
	if o := c.mustRun(record(t, &dup)); o != nil {
		t.Fatal("a second delivery of the same webhook passed")
	}
}

func TestUnprocessableDeliveryIsRejectedWithItsReason(t *testing.T) {
	unprocessable := &schemas.Event{
		Schema: schemas.EventSchema, ID: schemas.NewID("test", "unprocessable"), Source: "shopify", Shop: "shop.myshopify.com",
		Topic: "orders/create", Type: schemas.TypeDeliveryUnprocessable, OccurredAt: t0, ReceivedAt: t0,
		Entity:   schemas.Entity{Kind: "order"},
		Raw:      json.RawMessage(`{"name":"#1001"}`),
		Problems: []string{"no entity id: the body has no id"},
		Headers:  map[string]string{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w1"},
	}
	for _, stages := range []string{"", "transforms: {stages: [{name: only, type: filter, condition: 'true'}]}\n"} {
		c := newChain(t, stages)
		_, err := c.run(record(t, unprocessable))
		if pipeline.ClassOf(err) != pipeline.Rejected || pipeline.CodeOf(err) != CodeUnprocessable {
			t.Fatalf("chain %q: want a rejection %s, got %v", stages, CodeUnprocessable, err)
		}
		if !strings.Contains(err.Error(), "no entity id: the body has no id") || !strings.Contains(err.Error(), "orders/create") {
			t.Fatalf("the reason is not in the rejection: %v", err)
		}
	}
	// A reason that names the topic already (as the Shopify source's do)
	// names it once in the error history.
	named := *unprocessable
	named.Problems = []string{`orders/create: missing or zero "id"`}
	_, err := newChain(t, "").run(record(t, &named))
	if n := strings.Count(fmt.Sprint(err), "orders/create"); n != 1 {
		t.Fatalf("the topic named %d times: %v", n, err)
	}
}

// Problems name what the source left out; the rest is processed as usual.
func TestEventWithProblemsIsProcessed(t *testing.T) {
	c := newChain(t, "")
	e := event(t, schemas.TypeCustomerUpdated, "customer", "42", t0,
		`{"id":42,"email":"zoe@example.com","first_name":"Zoë","updated_at":"2026-11-27T10:00:00Z"}`)
	e.Problems = []string{`created_at: unparseable time "NULL"`}
	o := c.mustRun(record(t, e))
	if o == nil || o.Attrs["FIRSTNAME"] != "Zoë" || o.Identifiers.Email != "zoe@example.com" {
		t.Fatalf("output %+v", o)
	}
	if len(o.Problems) != 1 {
		t.Fatalf("problems lost from the envelope: %s", o.raw)
	}
}

// TestFreshnessSurvivesKill9 applies a rename in a child process over a
// real bbolt store and journal, kills it with SIGKILL once the record is
// through the chain (no checkpoint, no Close), and reopens the same data
// directory: an older order must still find the rename newer.
func TestFreshnessSurvivesKill9(t *testing.T) {
	renamed := t0.Add(-time.Hour)
	if dir := os.Getenv("TAJO_FRESH_CHILD"); dir != "" {
		ts := openDurable(t, dir)
		if _, err := runChain(ts, rename(t, "New", renamed)); err != nil {
			t.Fatal(err)
		}
		fmt.Println("applied")
		time.Sleep(time.Minute) // killed here
		return
	}
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFreshnessSurvivesKill9$")
	cmd.Env = append(os.Environ(), "TAJO_FRESH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "applied" {
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ts := openDurable(t, dir)
	outs, err := runChain(ts, snapshotOrder(t, schemas.TypeOrderPlaced, 1, "Old", renamed.Add(-time.Hour), renamed.Add(time.Minute)))
	if err != nil || len(outs) != 1 {
		t.Fatalf("order after restart: %v", err)
	}
	var o struct{ Attributes map[string]any }
	json.Unmarshal(valueOf(t, outs[0]), &o)
	if _, ok := o.Attributes["FIRSTNAME"]; ok || o.Attributes["ORDER_COUNT"] != 1.0 {
		t.Fatalf("after kill -9 the older order's snapshot won: %v", o.Attributes)
	}
}

func openDurable(t *testing.T, dir string) []pipeline.NamedTransform {
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts, err := BuildWith(parse(t, ""), pipeline.Env{State: st, DataDir: dir}, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

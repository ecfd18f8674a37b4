package brevo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// durableSink is a sink over a state store and journal in dir, as tajo run
// builds it; stop closes them (a clean stop).
func durableSink(t *testing.T, baseURL, apiKey, dir string, mod ...func(*brevo.SinkConfig)) (s *brevo.Sink, stop func()) {
	t.Helper()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := pipeline.OpenJournal(st, dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(apiKey), baseURL
	cfg.Timeout, cfg.ImportPollInterval = 5*time.Second, 5*time.Millisecond
	cfg.Lists.AllCustomers, cfg.Lists.Buyers, cfg.Lists.AbandonedCart = listAll, listBuyers, listAbandoned
	for _, m := range mod {
		m(&cfg)
	}
	s, err = brevo.NewSink(cfg, pipeline.Env{Name: "brevo", State: st, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			j.Close()
			st.Close()
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// newCustomer is a customers/create of a shopper with email, phone and a
// subscribed email consent: every input the consent policy looks at.
func newCustomer(t *testing.T, id int, email, first string) *pipeline.Record {
	return customer(t, id, email, first, func(e *schemas.Event) {
		e.Type = schemas.TypeCustomerCreated
		phone := fmt.Sprintf("+336%08d", id)
		e.Identifiers.Phone = phone
		e.Attributes = json.RawMessage(fmt.Sprintf(`{"FIRSTNAME":%q,"SMS":%q}`, first, phone))
		e.Consent = &schemas.Consent{Email: "subscribed", SMS: "subscribed"}
	})
}

func write(t *testing.T, s *brevo.Sink, recs ...*pipeline.Record) {
	t.Helper()
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

const lookupRoute = "GET /contacts/{identifier}"

// A live flood of new customers (one record per Write, as webhooks arrive
// one by one) and a backlog batch (through an import) make no lookup: the
// read at start says Brevo holds none of them. A restart reads back what
// tajo learned and lists only what changed since: updates of the same
// customers make no lookup either.
func TestNewCustomersMakeNoLookups(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	srv.PutContact(brevotest.Contact{Email: "old@example.com", ExtID: "999", Attributes: map[string]any{"SMS": "+33600000999"}})
	dir := t.TempDir()
	s, stop := durableSink(t, srv.URL(), srv.APIKey(), dir)
	if n := srv.RequestCount("GET /contacts"); n != 1 {
		t.Fatalf("the first start read Brevo's contacts in %d requests, want 1", n)
	}
	const live, backlog = 60, 40
	for i := 1; i <= live; i++ {
		write(t, s, newCustomer(t, i, fmt.Sprintf("c%d@example.com", i), "New"))
	}
	var batch []*pipeline.Record
	for i := live + 1; i <= live+backlog; i++ {
		batch = append(batch, newCustomer(t, i, fmt.Sprintf("c%d@example.com", i), "New"))
	}
	write(t, s, batch...)
	// The contact the read found, updated with the same email and phone.
	write(t, s, customer(t, 999, "old@example.com", "Old", nil))
	if n := srv.RequestCount(lookupRoute); n != 0 {
		t.Fatalf("%d lookups for %d new customers, want 0 (requests %v)", n, live+backlog, srv.RequestCounts())
	}
	if c := srv.ContactByExtID("7"); c == nil || c.Attributes["SMS"] != "+33600000007" || c.Attributes["FIRSTNAME"] != "New" {
		t.Fatalf("contact 7 = %+v", c)
	}
	if srv.RequestCount("POST /contacts/import") != 1 || len(srv.Contacts()) != live+backlog+1 {
		t.Fatalf("requests %v, %d contacts", srv.RequestCounts(), len(srv.Contacts()))
	}
	stop()

	s, _ = durableSink(t, srv.URL(), srv.APIKey(), dir)
	if n := srv.RequestCount("GET /contacts"); n != 2 {
		t.Fatalf("%d reads of Brevo's contacts after the restart, want 2", n)
	}
	for i := 1; i <= live+backlog; i += 7 {
		write(t, s, customer(t, i, fmt.Sprintf("c%d@example.com", i), "Again", nil))
	}
	if n := srv.RequestCount(lookupRoute); n != 0 {
		t.Fatalf("%d lookups after the restart, want 0", n)
	}
	if c := srv.ContactByExtID("8"); c == nil || c.Attributes["FIRSTNAME"] != "Again" {
		t.Fatalf("contact 8 = %+v", c)
	}
}

// What Write learned is durable when it returns: a copy of the data
// directory taken then (the state after a kill -9, no Close) knows the
// contacts, and a sink over it makes no lookup.
func TestKnowledgeSurvivesAKillAfterWrite(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	dir := t.TempDir()
	s, _ := durableSink(t, srv.URL(), srv.APIKey(), dir)
	for i := 1; i <= 5; i++ {
		write(t, s, newCustomer(t, i, fmt.Sprintf("k%d@example.com", i), "Kay"))
	}
	crashed := t.TempDir()
	for _, f := range []string{"state.db", pipeline.JournalFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The restarted sink must not learn from its read: Brevo lists
	// nothing to it.
	empty := newSim(t, brevotest.Options{})
	s2, _ := durableSink(t, empty.URL(), empty.APIKey(), crashed)
	// The same customers with a new phone each: a change, which needs
	// Brevo's current SMS state only for a contact Brevo holds. The empty
	// account is asked once per contact, proving the knowledge came back
	// (a contact it did not know would be written as new, unasked).
	for i := 1; i <= 5; i++ {
		write(t, s2, customer(t, i, fmt.Sprintf("k%d@example.com", i), "Kay", func(e *schemas.Event) {
			e.Identifiers.Phone = "+33700000000"
			e.Attributes = json.RawMessage(`{"SMS":"+33700000000"}`)
		}))
	}
	if n := empty.RequestCount(lookupRoute); n != 5 {
		t.Fatalf("%d lookups, want 5: the knowledge written before the kill was lost", n)
	}
}

// Brevo's answer now is asked for where the policy needs it: an email
// change of a contact Brevo holds, since Brevo lifts a blocklisting when
// the email changes, and tajo's copy may predate an unsubscribe made in
// Brevo. Here Brevo blocklisted the contact after tajo wrote it: the
// lookup sees it and the change is withheld.
func TestEmailChangeAsksBrevoFirst(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	srv.PutContact(brevotest.Contact{Email: "dan@example.com", ExtID: "4", EmailBlacklisted: true})
	s, _ := durableSink(t, srv.URL(), srv.APIKey(), t.TempDir())
	write(t, s, customer(t, 5, "eve@example.com", "Eve", nil))
	// An unsubscribe link clicked in a Brevo campaign: tajo does not see it.
	other, err := brevo.New(brevo.Config{APIKey: config.Secret(srv.APIKey()), BaseURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateContact(context.Background(), "5", brevo.ByExtID, brevo.ContactUpdate{EmailBlacklisted: brevo.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	write(t, s, customer(t, 5, "eve.new@example.com", "Eve", nil), customer(t, 4, "dan.new@example.com", "Dan", nil))
	if n := srv.RequestCount(lookupRoute); n != 2 {
		t.Fatalf("%d lookups for two email changes, want 2", n)
	}
	for _, c := range []*brevotest.Contact{srv.ContactByExtID("5"), srv.ContactByExtID("4")} {
		if c.Email == "" || c.Email[len(c.Email)-len("new@example.com"):] == "new@example.com" || !c.EmailBlacklisted {
			t.Fatalf("the email change of a blocklisted contact must be withheld: %+v", c)
		}
	}
	// An unblocked contact's change goes through, asked once; the next
	// record with the new email asks nothing.
	write(t, s, customer(t, 6, "fay@example.com", "Fay", nil))
	write(t, s, customer(t, 6, "fay.new@example.com", "Fay", nil))
	write(t, s, customer(t, 6, "fay.new@example.com", "Fay", nil))
	if c := srv.ContactByExtID("6"); c.Email != "fay.new@example.com" || srv.RequestCount(lookupRoute) != 3 {
		t.Fatalf("fay = %+v, %d lookups (want 3)", c, srv.RequestCount(lookupRoute))
	}
}

// known_contacts.read: false and a read over max_read leave the knowledge
// incomplete: a contact tajo did not write is looked up once, as before.
func TestKnownContactsReadOffOrBounded(t *testing.T) {
	for name, mod := range map[string]func(*brevo.SinkConfig){
		"read=false":  func(c *brevo.SinkConfig) { c.KnownContacts.Read = false },
		"max_read=2":  func(c *brevo.SinkConfig) { c.KnownContacts.MaxRead = 2 },
		"max_read=10": func(c *brevo.SinkConfig) { c.KnownContacts.MaxRead = 10 },
	} {
		t.Run(name, func(t *testing.T) {
			srv := newSim(t, brevotest.Options{})
			for i := range 3 {
				srv.PutContact(brevotest.Contact{Email: fmt.Sprintf("p%d@example.com", i), ExtID: fmt.Sprint(900 + i)})
			}
			s, _ := durableSink(t, srv.URL(), srv.APIKey(), t.TempDir(), mod)
			write(t, s, newCustomer(t, 1, "n1@example.com", "N"), newCustomer(t, 2, "n2@example.com", "N"))
			wantReads, wantLookups := 1, 2
			switch name {
			case "read=false":
				wantReads = 0
			case "max_read=10":
				wantLookups = 0
			}
			if r, l := srv.RequestCount("GET /contacts"), srv.RequestCount(lookupRoute); r != wantReads || l != wantLookups {
				t.Fatalf("%d reads and %d lookups, want %d and %d", r, l, wantReads, wantLookups)
			}
		})
	}
}

// A read cut short (here Brevo refuses its second page) resumes at that
// page on the next start, and the knowledge counts as complete only then.
func TestKnownContactsReadResumes(t *testing.T) {
	srv := newSim(t, brevotest.Options{})
	for i := range brevo.MaxContactsPage + 500 {
		srv.PutContact(brevotest.Contact{Email: fmt.Sprintf("r%d@example.com", i), ExtID: fmt.Sprint(10_000 + i)})
	}
	target, _ := url.Parse(srv.URL())
	var mu sync.Mutex
	var offsets []string
	refuse := true
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == target.Path+"/contacts" {
			mu.Lock()
			offsets = append(offsets, r.URL.Query().Get("offset"))
			no := refuse && r.URL.Query().Get("offset") != "0"
			mu.Unlock()
			if no {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"code":"bad_request","message":"refused by the test"}`)
				return
			}
		}
		req, _ := http.NewRequest(r.Method, target.Scheme+"://"+target.Host+r.URL.RequestURI(), r.Body)
		req.Header = r.Header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	base := proxy.URL + target.Path

	dir := t.TempDir()
	s, stop := durableSink(t, base, srv.APIKey(), dir)
	// Incomplete: a new customer is looked up.
	write(t, s, newCustomer(t, 1, "n1@example.com", "N"))
	if n := srv.RequestCount(lookupRoute); n != 1 {
		t.Fatalf("%d lookups with a read cut short, want 1", n)
	}
	stop()
	mu.Lock()
	refuse = false
	mu.Unlock()
	s, _ = durableSink(t, base, srv.APIKey(), dir)
	write(t, s, newCustomer(t, 2, "n2@example.com", "N"))
	if n := srv.RequestCount(lookupRoute); n != 1 {
		t.Fatalf("%d lookups once the read finished, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(offsets) != "[0 1000 1000]" {
		t.Fatalf("pages read at offsets %v, want [0 1000 1000]", offsets)
	}
}

// Rule 5 of the consent policy: what tajo remembers answers everything but
// an identifier change, which asks for Brevo's current state first.
func TestRememberedStateAsksOnlyBeforeAChange(t *testing.T) {
	ann := &brevo.BrevoContactState{Email: "ann@example.com", Phone: "+33600000001"}
	blocked := &brevo.BrevoContactState{Email: "ann@example.com", EmailBlacklisted: true}
	for _, tc := range []struct {
		name   string
		in     brevo.ConsentInput
		lookup bool
	}{
		{"same email and phone", brevo.ConsentInput{Existing: ann, Remembered: true, NewEmail: "ann@example.com", NewPhone: "+33600000001"}, false},
		{"an unsubscribe, no change", brevo.ConsentInput{Existing: ann, Remembered: true, NewEmail: "ann@example.com", Email: brevo.ConsentUnsubscribed}, false},
		{"remembered blocklisted, subscribe", brevo.ConsentInput{Existing: blocked, Remembered: true, NewEmail: "ann@example.com", Email: brevo.ConsentSubscribed}, false},
		{"email change", brevo.ConsentInput{Existing: ann, Remembered: true, NewEmail: "ann.new@example.com"}, true},
		{"phone change", brevo.ConsentInput{Existing: ann, Remembered: true, NewPhone: "+33600000002"}, true},
		{"email change, Brevo's answer now", brevo.ConsentInput{Existing: ann, NewEmail: "ann.new@example.com"}, false},
		{"absent: new", brevo.ConsentInput{NewContact: true, NewEmail: "bob@example.com", NewPhone: "+33600000003"}, false},
	} {
		d := brevo.DecideConsent(tc.in)
		if d.NeedsLookup != tc.lookup {
			t.Errorf("%s: NeedsLookup = %v, want %v (%v)", tc.name, d.NeedsLookup, tc.lookup, d.Reasons)
		}
		if tc.lookup && (d.ChangeEmail || d.ChangePhone) {
			t.Errorf("%s: a change decided on remembered state: %+v", tc.name, d)
		}
	}
	if d := brevo.DecideConsent(brevo.ConsentInput{Existing: blocked, Remembered: true, NewEmail: "ann@example.com", Email: brevo.ConsentSubscribed}); d.EmailBlacklisted != nil {
		t.Errorf("a subscribe without resubscribe sent emailBlacklisted=%v", *d.EmailBlacklisted)
	}
}

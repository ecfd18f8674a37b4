package brevo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
	_ "github.com/tajo/tajo/sources/file"
)

// runEngine runs file → brevo through the engine (broker: none), so the
// sink gets its batches as a pipelined sink does, numbered and overlapping;
// extra is more of the sinks.brevo section. It returns a stop function.
func runEngine(t *testing.T, srv *brevotest.Server, lines []byte, batchSize int, extra string) func() {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), lines, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {batch_size: %d, batch_wait: 5ms, progress_interval: 1h, shutdown_timeout: 2s, retry: {initial: 20ms, max: 200ms}}
sources:
  file: {path: in.jsonl, follow: true}
sinks:
  brevo:
    api_key: %s
    base_url: %s
    import_poll_interval: 20ms
    lists: {all_customers: %d, buyers: %d, abandoned_cart: %d}
%s`, dir, batchSize, srv.APIKey(), srv.URL(), listAll, listBuyers, listAbandoned, extra)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- pipeline.NewRunner(cfg, log).Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func lines(t *testing.T, recs []*pipeline.Record) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(r.Value)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// contactWrites counts the requests that write contacts and the contacts
// they carried.
func contactWrites(srv *brevotest.Server) (requests, contacts int) {
	for _, id := range srv.ProcessIDs() {
		requests++
		contacts += srv.ImportSize(id)
	}
	single := srv.RequestCount("POST /contacts")
	return requests + single, contacts + single
}

// A flood of new customers in many engine batches, against Brevo's
// contacts limit and imports that take time: the contacts that arrive
// while imports run gather into a few large ones, across batches, and
// every one lands once.
func TestFloodAcrossBatchesMakesFewLargeImports(t *testing.T) {
	const n, batch = 4000, 100
	for _, depth := range []int{1, brevo.DefaultPipeline} {
		t.Run("pipeline="+strconv.Itoa(depth), func(t *testing.T) {
			srv := newSim(t, brevotest.Options{ImportTime: 300 * time.Millisecond,
				GroupLimits: map[string][]brevotest.Limit{brevotest.GroupContacts: {{Requests: 10, Per: time.Second}}}})
			recs := make([]*pipeline.Record, n)
			for i := range recs {
				recs[i] = customer(t, i+1, fmt.Sprintf("fl.%d@example.com", i), fmt.Sprintf("F%d", i), nil)
			}
			start := time.Now()
			runEngine(t, srv, lines(t, recs), batch, fmt.Sprintf("    pipeline: %d\n    import: {polls_per_hour: 0}\n", depth))
			waitUntil(t, "every contact in Brevo", 2*time.Minute, func() bool { return srv.ContactCount() >= n })
			took := time.Since(start)
			reqs, carried := contactWrites(srv)
			t.Logf("pipeline %d: %d contacts in %d batches of %d: %d contact-write requests (%d imports), %.0f contacts per request, %s, max %d contacts requests in a second",
				depth, n, n/batch, batch, reqs, len(srv.ProcessIDs()), float64(carried)/float64(reqs), took.Round(time.Millisecond), srv.MaxGroupRate(brevotest.GroupContacts))
			if got := srv.ContactCount(); got != n {
				t.Fatalf("%d contacts, want %d", got, n)
			}
			if depth > 1 && float64(carried)/float64(reqs) < 2*batch {
				t.Fatalf("%.0f contacts per write request with %d batches held at once: want them gathered past one batch (%d)", float64(carried)/float64(reqs), depth, batch)
			}
			if m := srv.MaxGroupRate(brevotest.GroupContacts); m > 10 {
				t.Fatalf("%d contacts requests in one second, over the limit of 10", m)
			}
		})
	}
}

// Under light load a contact goes out at once, alone, even while a long
// import of earlier contacts runs.
func TestLoneContactGoesAtOnceBesideAnImport(t *testing.T) {
	srv := newSim(t, brevotest.Options{ImportTime: 3 * time.Second})
	s := newSink(t, srv)
	var bulk []*pipeline.Record
	for i := 0; i < 50; i++ {
		bulk = append(bulk, customer(t, i+1, fmt.Sprintf("bulk.%d@example.com", i), "B", nil))
	}
	go func() { _ = s.Write(context.Background(), bulk) }()
	waitUntil(t, "the import started", 5*time.Second, func() bool { return len(srv.ProcessIDs()) == 1 })
	start := time.Now()
	if err := s.Write(context.Background(), []*pipeline.Record{customer(t, 999, "lone@example.com", "L", nil)}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if srv.Contact("lone@example.com") == nil || srv.RequestCount("POST /contacts") != 1 {
		t.Fatalf("the lone contact: %v, %d POST /contacts", srv.Contact("lone@example.com"), srv.RequestCount("POST /contacts"))
	}
	if took > time.Second || srv.ContactCount() != 1 {
		t.Fatalf("the lone contact took %s (%d contacts in Brevo): it waited for the import", took, srv.ContactCount())
	}
}

// The same contacts updated in every batch, many batches in flight, under
// 429s and 5xx: each ends with its last version (no older write landed
// after a newer one) and every record is delivered.
func TestPerContactOrderUnderThrottlingAndFaults(t *testing.T) {
	const contacts, versions = 30, 40
	srv := newSim(t, brevotest.Options{FaultRate: 0.15, Seed: 11,
		GroupLimits: map[string][]brevotest.Limit{brevotest.GroupContacts: {{Requests: 8, Per: time.Second}}}})
	var recs []*pipeline.Record
	for v := 1; v <= versions; v++ {
		for c := 0; c < contacts; c++ {
			recs = append(recs, customer(t, c+1, fmt.Sprintf("ord.%d@example.com", c), fmt.Sprintf("v%d", v), nil))
		}
	}
	// 15 records a batch: a contact's versions spread over batches in flight.
	runEngine(t, srv, lines(t, recs), 15, "    pipeline: 8\n    import_threshold: 10\n    import: {polls_per_hour: 0}\n")
	waitUntil(t, "the first contact", time.Minute, func() bool { return srv.ContactCount() > 0 })
	// Once the sink is open, a 429 storm: two requests refused every
	// 1.5s (each pausing the contacts group), on top of the faults.
	storm := make(chan struct{})
	defer close(storm)
	go func() {
		for {
			select {
			case <-storm:
				return
			case <-time.After(1500 * time.Millisecond):
				srv.FailNext(1, 429)
			}
		}
	}()
	last := fmt.Sprintf("v%d", versions)
	waitUntil(t, "every contact at its last version", time.Minute, func() bool {
		for c := 0; c < contacts; c++ {
			if ct := srv.Contact(fmt.Sprintf("ord.%d@example.com", c)); ct == nil || ct.Attributes["FIRSTNAME"] != last {
				if os.Getenv("DEBUG_ORDER") != "" && ct != nil {
					t.Logf("contact %d at %v", c, ct.Attributes["FIRSTNAME"])
				}
				return false
			}
		}
		return true
	})
	// Nothing older may land after the last version: settle, then check again.
	time.Sleep(500 * time.Millisecond)
	for c := 0; c < contacts; c++ {
		if got := srv.Contact(fmt.Sprintf("ord.%d@example.com", c)).Attributes["FIRSTNAME"]; got != last {
			t.Fatalf("contact %d ended at %v after reaching %s: an older write landed after a newer one", c, got, last)
		}
	}
	if srv.ContactCount() != contacts {
		t.Fatalf("%d contacts, want %d", srv.ContactCount(), contacts)
	}
	t.Logf("%d answered 429, %d 5xx", srv.StatusCount(429), srv.StatusCount(500)+srv.StatusCount(502)+srv.StatusCount(503))
	if srv.StatusCount(429) == 0 {
		t.Fatal("no 429: the test did not throttle")
	}
}

// With import.notify_url, an import completes on Brevo's call to the
// webhook listener, without a single poll.
func TestImportCompletesOnNotifyURL(t *testing.T) {
	srv := newSim(t, brevotest.Options{ImportTime: 200 * time.Millisecond})
	mux := http.NewServeMux()
	listener := httptest.NewServer(mux)
	t.Cleanup(listener.Close)
	cfg := *brevo.NewSinkConfig().(*brevo.SinkConfig)
	cfg.APIKey, cfg.BaseURL = config.Secret(srv.APIKey()), srv.URL()
	cfg.Lists.AllCustomers = listAll
	cfg.Import.NotifyURL = listener.URL
	s, err := brevo.NewSink(cfg, pipeline.Env{Name: "brevo", HTTP: mux})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var recs []*pipeline.Record
	for i := 0; i < 30; i++ {
		recs = append(recs, customer(t, i+1, fmt.Sprintf("n.%d@example.com", i), "N", nil))
	}
	start := time.Now()
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if srv.ContactCount() != 30 || len(srv.ProcessIDs()) != 1 {
		t.Fatalf("%d contacts through %d imports", srv.ContactCount(), len(srv.ProcessIDs()))
	}
	// The simulator records its call once our answer reached it.
	waitUntil(t, "the call recorded", 5*time.Second, func() bool { return len(srv.Notifications()) > 0 })
	ns := srv.Notifications()
	if len(ns) != 1 || ns[0].Status != http.StatusNoContent || !strings.HasPrefix(ns[0].URL, listener.URL+"/brevo/imports/") {
		t.Fatalf("notifications %+v", ns)
	}
	if polls := srv.RequestCount("GET /processes/{processId}"); polls != 0 || took > 10*time.Second {
		t.Fatalf("%d polls, %s: the import did not complete on the call", polls, took)
	}
	// The path is the token's: anything else finds nothing.
	resp, err := http.Post(listener.URL+"/brevo/imports/guess/x", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a guessed path answered %d", resp.StatusCode)
	}
}

// Imports in a long flood spend the hourly poll budget: once what is left
// is the reserve (a sixth) and the polls the running imports are owed, no
// import starts that would wait for a poll the hour gives back only
// slowly, and the contacts reach Brevo alone, within seconds; the budget
// is never overspent.
func TestSpentPollBudgetSendsContactsAlone(t *testing.T) {
	const n, batch, polls = 400, 40, 6
	srv := newSim(t, brevotest.Options{ImportPolls: 1, // done at the first poll
		GroupLimits: map[string][]brevotest.Limit{brevotest.GroupContacts: {{Requests: 10, Per: time.Second}}}})
	recs := make([]*pipeline.Record, n)
	for i := range recs {
		recs[i] = customer(t, i+1, fmt.Sprintf("pb.%d@example.com", i), fmt.Sprintf("P%d", i), nil)
	}
	runEngine(t, srv, lines(t, recs), batch, fmt.Sprintf("    pipeline: 2\n    import_threshold: 10\n    import: {polls_per_hour: %d}\n", polls))
	// What the imports leave, alone at the sink's 8 contacts requests a
	// second: under a minute.
	waitUntil(t, "every contact in Brevo", 90*time.Second, func() bool { return srv.ContactCount() >= n })
	imports, used := len(srv.ProcessIDs()), srv.RequestCount("GET /processes/{processId}")
	t.Logf("%d contacts: %d imports, %d POST /contacts, %d polls", n, imports, srv.RequestCount("POST /contacts"), used)
	if used > polls {
		t.Fatalf("%d polls of /processes, over the budget of %d", used, polls)
	}
	// Each import took its one poll; the reserve of one was never needed.
	if imports == 0 || imports > polls-1 || used != imports {
		t.Fatalf("%d imports and %d polls with a budget of %d: want at most %d imports, each polled once, the last poll kept in reserve", imports, used, polls, polls-1)
	}
}

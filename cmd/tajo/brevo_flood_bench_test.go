package main

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sources/shopify"
)

// Issue 11's benchmarks: how well tajo spends Brevo's budget. Each runs a
// real `tajo run` (signed webhooks → embedded Kafka → default transforms →
// Brevo sink, default settings) against a simulated Brevo account that
// rates like the General tier (contacts and events 10 requests/s each, all
// other routes, /processes included, 100/h) and whose imports take 2 s, as
// Brevo's take seconds. One op is one whole scenario (about a minute); the
// numbers come as metrics:
//
//	go test -run '^$' -bench Brevo -benchtime 1x ./cmd/tajo/   (make bench-brevo)
//
// The contact-write requests are every POST, PUT and DELETE under
// /contacts (upserts, imports, list changes); lookups are GET
// /contacts/{identifier}. Requests refused with a 429 count too: they
// spend the budget as well.

const (
	benchImportTime = 2 * time.Second
	// benchFloodN is issue 11's burst: 5,000 new customers.
	benchFloodN = 5000
	// benchSenders post at once, as a flash sale's webhooks arrive.
	benchSenders = 128
)

// BenchmarkBrevoFlood posts 5,000 new customers (signed customers/create
// webhooks, 128 senders) as fast as the ingress takes them and reports
// the seconds from the last 200 until the last of them is in Brevo, the
// contacts per contact-write request, lookups per contact, and the most
// requests the account saw in any one second (all routes, and contacts
// alone).
func BenchmarkBrevoFlood(b *testing.B) {
	r := startBrevoBench(b, "")
	reqs := make([]benchDelivery, benchFloodN)
	for i := range reqs {
		reqs[i] = benchCustomer(r.body, i)
	}
	b.ResetTimer()
	t200 := r.postAll(b, reqs, benchSenders)
	last200 := slices.MaxFunc(t200, time.Time.Compare)
	in := r.waitInBrevo(b, reqs, 3*time.Minute)
	inAt := slices.MaxFunc(in, time.Time.Compare)
	counts := r.srv.RequestCounts() // the budget of the contacts, before the last events go
	evAt := r.waitEvents(b, len(reqs), 3*time.Minute)
	b.StopTimer()
	b.ReportMetric(inAt.Sub(last200).Seconds(), "s-after-last-200")
	b.ReportMetric(evAt.Sub(last200).Seconds(), "events-s-after-last-200")
	b.ReportMetric(last200.Sub(slices.MinFunc(t200, time.Time.Compare)).Seconds(), "s-posting")
	r.reportBudget(b, len(reqs), counts)
}

// BenchmarkBrevoLightLoad posts one new customer a second for 30 s and
// reports the latency from each webhook's 200 to its contact's first
// write in Brevo (p50, p99).
func BenchmarkBrevoLightLoad(b *testing.B) {
	const n = 30
	r := startBrevoBench(b, "")
	reqs := make([]benchDelivery, n)
	for i := range reqs {
		reqs[i] = benchCustomer(r.body, i)
	}
	b.ResetTimer()
	t200 := make([]time.Time, n)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := range reqs {
		if i > 0 {
			<-tick.C
		}
		t200[i] = r.postAll(b, reqs[i:i+1], 1)[0]
	}
	in := r.waitInBrevo(b, reqs, time.Minute)
	counts := r.srv.RequestCounts()
	b.StopTimer()
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = in[i].Sub(t200[i])
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(percentile(lat, 99).Milliseconds()), "p99-ms")
	r.reportBudget(b, n, counts)
}

// BenchmarkBrevoBacklogDrain puts N new customers (customers/create,
// TAJO_BENCH_BACKLOG, default 51,000 as in issue 11) on Kafka while Brevo
// is down (every request answered 503), then brings Brevo back and
// reports the contacts per second from then until the last is in Brevo,
// and tajo's peak RSS. The pipeline's retry waits at most 1 s here, so the
// drain measures Brevo's throughput, not the backoff. TAJO_BENCH_PIPELINE
// adds keys to the pipeline section (", max_in_flight: 10000"),
// TAJO_BENCH_BREVO lines to the sinks.brevo section ("    pipeline: 40"):
// the records the engine lets in flight (pipeline.max_in_flight and its
// bytes) bound what the sink holds, so the drain is at most about that ÷
// (import time + fill). Each new customer also sends a customer_created
// event, and a record is done only with its event: at 200 events per
// /events/batch and 8 requests/s, events alone allow at most 1,600
// records/s.
func BenchmarkBrevoBacklogDrain(b *testing.B) {
	benchBacklogDrain(b, "customers/create")
}

// BenchmarkBrevoBacklogDrainUpdates is the drain of customers/update
// records, which carry no event (mapping.go): contacts only, so imports
// alone bound it.
func BenchmarkBrevoBacklogDrainUpdates(b *testing.B) {
	benchBacklogDrain(b, "customers/update")
}

func benchBacklogDrain(b *testing.B, topic string) {
	n := 51000 // issue 11's backlog
	if v, err := strconv.Atoi(os.Getenv("TAJO_BENCH_BACKLOG")); err == nil && v > 0 {
		n = v
	}
	r := startBrevoBench(b, "pipeline: {progress_interval: 1h, retry: {max: 1s}"+os.Getenv("TAJO_BENCH_PIPELINE")+"}\n")
	fixture := r.body
	if topic != "customers/create" {
		f, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", strings.ReplaceAll(topic, "/", "-")+".json"))
		if err != nil {
			b.Fatal(err)
		}
		fixture = f
	}
	reqs := make([]benchDelivery, n)
	for i := range reqs {
		reqs[i] = benchCustomer(fixture, i)
		reqs[i].hdr.Set(shopify.HeaderTopic, topic)
	}
	r.srv.SetOutage(http.StatusServiceUnavailable)
	r.postAll(b, reqs, benchSenders)
	if c := r.srv.ContactCount(); c > 1 {
		b.Fatalf("%d contacts written while Brevo was down", c-1)
	}
	b.ResetTimer()
	r.srv.ResetStats() // the outage's 503s are not the drain's budget
	up := time.Now()
	r.srv.SetOutage(0)
	in := r.waitInBrevo(b, reqs, 3*time.Minute)
	counts := r.srv.RequestCounts()
	if topic == "customers/create" {
		// Each record is done only with its customer_created event.
		evAt := r.waitEvents(b, n, 3*time.Minute)
		b.ReportMetric(float64(n)/evAt.Sub(up).Seconds(), "events/s")
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/slices.MaxFunc(in, time.Time.Compare).Sub(up).Seconds(), "contacts/s")
	r.reportBudget(b, n, counts)
}

// brevoBench is a running tajo, its webhook URL, and the Brevo simulator
// it writes to.
type brevoBench struct {
	srv    *brevotest.Server
	url    string
	body   []byte // the customers/create fixture
	client *http.Client
	// known is how many contacts the account holds before the deliveries
	// being waited for.
	known int
	// events is how many events the account holds before those waited for.
	events int
	pid    int // tajo's
}

// startBrevoBench starts the simulator and tajo (extra is more
// configuration, e.g. a pipeline section), then sends one warm-up customer
// through and waits for it in Brevo, so that what is measured starts with
// a sink that has done its start-up checks. The simulator's statistics
// start after it.
func startBrevoBench(b *testing.B, extra string) *brevoBench {
	b.Helper()
	if testing.Short() {
		b.Skip("a minute-long scenario through the tajo binary: not in -short")
	}
	body, err := os.ReadFile(filepath.Join("..", "..", "sources", "shopify", "testdata", "webhooks", "customers-create.json"))
	if err != nil {
		b.Skip("the customers/create fixture is missing:", err)
	}
	srv := brevotest.New(brevotest.Options{
		GroupLimits: brevotest.GeneralTier(),
		ImportTime:  benchImportTime,
		Lists:       map[int64]string{1: "All customers", 2: "Buyers", 3: "Abandoned cart"},
	})
	b.Cleanup(srv.Close)
	dir := b.TempDir()
	httpAddr, kafkaAddr := benchAddr(b), benchAddr(b)
	if extra == "" {
		extra = "pipeline: {progress_interval: 1h}\n"
	}
	cfg := fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: %q}
control: {listen: ""}
log: {level: warn}
broker: {embedded: {listen: %q}}
%sconnectors:
  shopify:
    enabled: true
    api_secret: %s
    stores:
      - {shop_url: %s}
    sync: {backfill: false, reconcile_every: 0}
sinks:
  brevo:
    api_key: ${BREVO_API_KEY}
    base_url: %s
    lists: {all_customers: 1, buyers: 2, abandoned_cart: 3}
%s`, dir, httpAddr, kafkaAddr, extra, benchSecret, benchShop, srv.URL(), os.Getenv("TAJO_BENCH_BREVO"))
	pid := startTajoBench(b, dir, cfg, httpAddr, "BREVO_API_KEY="+srv.APIKey())
	r := &brevoBench{srv: srv, url: "http://" + httpAddr + "/webhooks/shopify", body: body, pid: pid,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}}
	warm := []benchDelivery{benchCustomer(body, -1)}
	r.postAll(b, warm, 1)
	r.waitInBrevo(b, warm, time.Minute)
	r.waitEvents(b, 1, time.Minute)
	srv.ResetStats()
	return r
}

// benchCustomer is customer i's customers/create webhook, signed: the
// fixture with its own id and email.
func benchCustomer(fixture []byte, i int) benchDelivery {
	id := strconv.FormatInt(710000000000000000+int64(i)+1, 10)
	email := fmt.Sprintf("flood-%d@example.com", i+1)
	body := bytes.ReplaceAll(fixture, []byte("706405506930370084"), []byte(id))
	body = bytes.ReplaceAll(body, []byte("bob@biller.com"), []byte(email))
	return benchDelivery{body: body, hdr: benchHeaders(body, "flood-"+id), email: email}
}

// postAll posts the deliveries from senders goroutines and returns when
// each was answered 200; any other answer fails the benchmark.
func (r *brevoBench) postAll(b *testing.B, reqs []benchDelivery, senders int) []time.Time {
	b.Helper()
	_, answered, err := postDeliveries(r.client, r.url, reqs, senders)
	if err != nil {
		b.Fatal(err)
	}
	return answered
}

// waitInBrevo waits until every delivery's contact (each a new one) is in
// Brevo and returns when each was first written there.
func (r *brevoBench) waitInBrevo(b *testing.B, reqs []benchDelivery, d time.Duration) []time.Time {
	b.Helper()
	want := r.known + len(reqs)
	r.known = want
	for deadline := time.Now().Add(d); r.srv.ContactCount() < want; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("after %v only %d of %d contacts are in Brevo; requests %v", d, r.srv.ContactCount(), want, r.srv.RequestCounts())
		}
	}
	at := make([]time.Time, len(reqs))
	for i, q := range reqs {
		c := r.srv.Contact(q.email)
		if c == nil {
			b.Fatalf("%s is not in Brevo, though the account has %d contacts", q.email, r.srv.ContactCount())
		}
		at[i] = c.CreatedAt
	}
	return at
}

// waitEvents waits until n more events than at the warm-up are in Brevo
// and returns when the last arrived (to the 50 ms of the polling).
func (r *brevoBench) waitEvents(b *testing.B, n int, d time.Duration) time.Time {
	b.Helper()
	want := r.events + n
	r.events = want
	for deadline := time.Now().Add(d); r.srv.EventCount() < want; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("after %v only %d of %d events are in Brevo; requests %v", d, r.srv.EventCount(), want, r.srv.RequestCounts())
		}
	}
	return time.Now()
}

// reportBudget reports how the n contacts spent Brevo's budget since the
// warm-up, by the requests counts (by route) taken when the last contact
// was in: contacts per contact-write request, lookups per contact, all
// requests, 429s, and the busiest second; the requests by route go to the
// log (-v).
func (r *brevoBench) reportBudget(b *testing.B, n int, counts map[string]int) {
	writes, lookups, total := 0, 0, 0
	b.Logf("%d contacts; Brevo requests by route: %v", n, counts)
	for route, c := range counts {
		total += c
		method, path, _ := strings.Cut(route, " ")
		switch {
		case brevotest.RouteGroup(route) != brevotest.GroupContacts:
		case method == http.MethodGet && path == "/contacts/{identifier}":
			lookups += c
		case method != http.MethodGet:
			writes += c
		}
	}
	if writes > 0 {
		b.ReportMetric(float64(n)/float64(writes), "contacts/write")
	}
	b.ReportMetric(float64(lookups)/float64(n), "lookups/contact")
	b.ReportMetric(float64(total), "brevo-requests")
	b.ReportMetric(float64(r.srv.StatusCount(http.StatusTooManyRequests)), "429s")
	b.ReportMetric(float64(r.srv.MaxRate("")), "busiest-1s-req")
	b.ReportMetric(peakRSS(r.pid), "tajo-peak-RSS-MiB")
	// Brevo limits per endpoint group: the busiest second of each, against
	// the sink's share of its per-second limit (sinks.brevo.rate_share).
	for g, limits := range brevotest.GeneralTier() {
		busiest := r.srv.MaxGroupRate(g)
		if g == brevotest.GroupContacts || g == brevotest.GroupEvents || busiest > 0 {
			b.ReportMetric(float64(busiest), "busiest-1s-"+g+"-req")
		}
		for _, l := range limits {
			if l.Per == time.Second && float64(busiest) > brevo.DefaultRateShare*float64(l.Requests) {
				b.Errorf("%s: %d requests in one second, over %v of Brevo's %d/s", g, busiest, brevo.DefaultRateShare, l.Requests)
			}
		}
	}
}

// percentile is the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

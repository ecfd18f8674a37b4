package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/pipelinetest"
	_ "github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// The sweep as Brevo sees it: three buyers' RECENCY moves by one a
// simulated day later, in one contact import, with no custom event and no
// list change beyond the import's all-customers list.
func TestRecencySweepReachesBrevoInOneImport(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	buyers := []string{"ana@example.com", "bo@example.com", "cy@example.com"}
	for i, email := range buyers {
		at := now.Add(-time.Duration(10+i) * 24 * time.Hour)
		in.Write(orderEvent(t, int64(1001+i), int64(41+i), email, at))
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := brevotest.New(brevotest.Options{Lists: map[int64]string{5: "All customers", 6: "Buyers", 7: "Abandoned cart"}})
	t.Cleanup(srv.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {batch_wait: 5ms, progress_interval: 1h, shutdown_timeout: 1s}
sources:
  file: {path: in.jsonl, follow: true}
sinks:
  brevo:
    api_key: %s
    base_url: %s
    import_threshold: 2
    import_poll_interval: 5ms
    lists: {all_customers: 5, buyers: 6, abandoned_cart: 7}
`, dir, srv.APIKey(), srv.URL())), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	clock := pipelinetest.NewClock(now)
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- pipeline.NewRunner(cfg, log, pipeline.WithClock(clock)).Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()

	// The simulator keeps numbers as JSON decoded them.
	attr := func(email, name string) string {
		if c := srv.Contact(email); c != nil {
			return fmt.Sprint(c.Attributes[name])
		}
		return ""
	}
	recency := func(email string) string { return attr(email, "RECENCY") }
	waitFor(t, "the orders in Brevo", func() bool { return recency("cy@example.com") == "12" && len(srv.Events()) == 3 })
	imports, events := len(srv.ProcessIDs()), len(srv.Events())

	clock.Add(24 * time.Hour)
	waitFor(t, "RECENCY moved by a day", func() bool {
		return recency("ana@example.com") == "11" && recency("bo@example.com") == "12" && recency("cy@example.com") == "13"
	})
	ids := srv.ProcessIDs()
	if len(ids) != imports+1 || srv.ImportSize(ids[len(ids)-1]) != 3 {
		t.Fatalf("imports %v (before the sweep %d): want one more, of the 3 buyers", ids, imports)
	}
	if n := len(srv.Events()); n != events {
		t.Fatalf("the sweep sent %d custom events; it only updates contacts", n-events)
	}
	for _, email := range buyers {
		if attr(email, "ORDER_COUNT") != "1" || attr(email, "TOTAL_SPENT") != "80" {
			t.Errorf("%s: the sweep's upsert lost the other attributes: %v", email, srv.Contact(email).Attributes)
		}
	}
	if got := srv.ListMembers(6); len(got) != 3 {
		t.Errorf("buyers list %v", got)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sinks/clickhouse/chtest"
	"github.com/tajo/tajo/sources/shopify"
)

// ingress stands in for tajo's webhook listener: it verifies each
// delivery's signature as the Shopify source does and keeps what it got.
type ingress struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func (g *ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/webhooks/shopify" {
		http.NotFound(w, r)
		return
	}
	if err := shopify.VerifyHMAC(b, shopify.HMACHeader(r.Header), shopify.Secrets{Current: "replay-secret"}); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if _, err := shopify.ParseHeaders(r.Header, b, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.got, g.body = append(g.got, r), append(g.body, b)
	g.mu.Unlock()
}

func (g *ingress) take() ([]*http.Request, [][]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	got, body := g.got, g.body
	g.got, g.body = nil, nil
	return got, body
}

// TestReplay: error-history rows chosen by reason, id or time are sent
// again to the webhook listener, signed with the shop's api_secret and
// with a new webhook id; rows that cannot be sent are skipped with why.
func TestReplay(t *testing.T) {
	if err := clickhouse.CheckLibrary(); err != nil {
		if chtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	g := &ingress{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: "%s"}
control: {listen: ""}
dead_letter: {sink: clickhouse}
connectors:
  shopify: {shop_url: a.myshopify.com, api_secret: replay-secret, access_token: shpat_x, sync: {backfill: false}}
sinks:
  clickhouse: {dsn: "chdb://history"}
`, dir, strings.TrimPrefix(srv.URL, "http://"))), 0o600)

	shop := "a.myshopify.com"
	rejected := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	triggered := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	noID := &schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID("unprocessable"), Source: shopify.Source, Shop: shop,
		Topic: "orders/create", Type: schemas.TypeDeliveryUnprocessable, OccurredAt: triggered, ReceivedAt: triggered,
		Entity: schemas.Entity{Kind: "order"}, Raw: json.RawMessage(`{"note":"an order without an id","total_price":"9.99"}`),
		Problems: []string{"no entity id"},
		Headers: map[string]string{"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": shop, "X-Shopify-Webhook-Id": "b54557e4",
			"X-Shopify-Api-Version": "2025-07", "X-Shopify-Triggered-At": triggered.Format(time.RFC3339), "X-Shopify-Event-Id": "98880550"}}
	badEmail := &schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID("bad-email"), Source: shopify.Source, Shop: shop,
		Topic: "customers/update", Type: schemas.TypeCustomerUpdated, OccurredAt: triggered, ReceivedAt: triggered, APIVersion: "2025-07",
		Entity: schemas.Entity{Kind: "customer", ID: "7"}, Data: json.RawMessage(`{"id":7}`), Raw: json.RawMessage(`{"id":7,"email":"zoë@"}`)}
	backfilled := &schemas.Event{Schema: schemas.EventSchema, ID: schemas.NewID("backfill"), Source: shopify.SourceBackfill, Shop: shop,
		Topic: "customers/backfill", Type: schemas.TypeCustomerUpdated, OccurredAt: triggered, Entity: schemas.Entity{Kind: "customer", ID: "8"},
		Data: json.RawMessage(`{"id":8,"email":"x@"}`)}
	otherShop := *badEmail
	otherShop.ID, otherShop.Shop = schemas.NewID("other"), "b.myshopify.com"
	env := func(ev *schemas.Event) []byte { b, _ := json.Marshal(ev); return b }
	dls := []pipeline.DeadLetter{
		{Time: rejected, Stage: "transform:decode", Class: pipeline.Rejected, Code: "unprocessable", Reason: "no entity id", Key: []byte(shop), Payload: env(noID)},
		{Time: rejected.Add(time.Second), Stage: "sink:brevo", Class: pipeline.Rejected, Code: "invalid_parameter", Reason: "email is not valid", Key: []byte(shop), Payload: env(badEmail)},
		{Time: rejected.Add(2 * time.Second), Stage: "sink:brevo", Class: pipeline.Rejected, Code: "invalid_parameter", Reason: "Email is not valid", Key: []byte(shop), Payload: env(backfilled)},
		{Time: rejected.Add(3 * time.Second), Stage: "transform:decode", Class: pipeline.Rejected, Code: "bad_json", Reason: "not JSON", Key: []byte(shop), Payload: []byte("not json")},
		{Time: rejected.Add(4 * time.Second), Stage: "sink:brevo", Class: pipeline.Rejected, Code: "invalid_parameter", Reason: "email is not valid", Key: []byte("b.myshopify.com"), Payload: env(&otherShop)},
	}
	cfg := clickhouse.DefaultConfig()
	cfg.DSN = "chdb://history"
	db, err := clickhouse.OpenConfig(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordDeadLetters(context.Background(), dls); err != nil {
		t.Fatal(err)
	}
	db.Close()

	tajo := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(append([]string{"replay", "-c", cfgPath}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}

	// No selector: nothing is replayed by accident.
	if _, _, code := tajo(); code != 2 {
		t.Errorf("tajo replay without a selector: exit %d, want 2", code)
	}

	out, errOut, code := tajo("--since", "1h", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		noID.ID, "orders/create", badEmail.ID, "customers/update",
		"skip: a backfill or reconcile record has no webhook to send again",
		"skip: not a tajo event envelope",
		`skip: shop "b.myshopify.com" is not a store of connectors.shopify`,
		"dry run: would replay 2, would skip 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got, _ := g.take(); len(got) != 0 {
		t.Fatalf("dry run sent %d deliveries", len(got))
	}

	// By reason, in any case: the webhook event is sent again; the
	// backfill record and the unknown shop are skipped with why.
	out, errOut, code = tajo("--reason", "EMAIL IS NOT")
	if code != 0 {
		t.Fatalf("replay --reason: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "replayed 1, skipped 2") || !strings.Contains(out, "skipped "+backfilled.ID) {
		t.Errorf("replay --reason output:\n%s", out)
	}
	got, bodies := g.take()
	if len(got) != 1 {
		t.Fatalf("replay --reason sent %d deliveries, want 1", len(got))
	}
	h := got[0].Header
	if string(bodies[0]) != string(badEmail.Raw) || h.Get("X-Shopify-Topic") != "customers/update" || h.Get("X-Shopify-Shop-Domain") != shop ||
		h.Get("X-Shopify-Api-Version") != "2025-07" || !regexp.MustCompile(`^`+badEmail.ID+`\.replay\.\d+$`).MatchString(h.Get("X-Shopify-Webhook-Id")) ||
		h.Get("X-Shopify-Triggered-At") != triggered.Format(time.RFC3339Nano) {
		t.Errorf("replayed webhook event: headers %v body %s", h, bodies[0])
	}

	// By id: the unprocessable delivery goes with its own headers.
	out, errOut, code = tajo("--id", noID.ID)
	if code != 0 || !strings.Contains(out, "replayed 1, skipped 0, failed 0") {
		t.Fatalf("replay --id: exit %d\n%s%s", code, out, errOut)
	}
	got, bodies = g.take()
	if len(got) != 1 {
		t.Fatalf("replay --id sent %d deliveries, want 1", len(got))
	}
	h = got[0].Header
	if string(bodies[0]) != string(noID.Raw) || h.Get("X-Shopify-Topic") != "orders/create" || h.Get("X-Shopify-Event-Id") != "98880550" ||
		!regexp.MustCompile(`^b54557e4\.replay\.\d+$`).MatchString(h.Get("X-Shopify-Webhook-Id")) ||
		h.Get("X-Shopify-Triggered-At") != triggered.Format(time.RFC3339) {
		t.Errorf("replayed unprocessable delivery: headers %v body %s", h, bodies[0])
	}

	// A window that holds nothing replays nothing.
	out, _, code = tajo("--until", rejected.Add(-time.Hour).Format(time.RFC3339))
	if code != 0 || !strings.Contains(out, "replayed 0, skipped 0, failed 0") {
		t.Errorf("replay --until before every row: exit %d\n%s", code, out)
	}
}

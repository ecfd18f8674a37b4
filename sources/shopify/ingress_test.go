package shopify_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify"
)

const ingressShop, ingressSecret = "ingress.myshopify.com", "ingress-secret"

// fixtureTopic maps a fixture file name back to its topic.
func fixtureTopic(file string) (string, bool) {
	for _, t := range shopify.Topics() {
		if strings.NewReplacer("/", "-", "_", "-").Replace(t.Name)+".json" == filepath.Base(file) {
			return t.Name, true
		}
	}
	return "", false
}

// patch rewrites one top-level key of a JSON object fixture (a nil value
// removes it), keeping every other byte as the fixture has it.
func patch(t *testing.T, body []byte, key string, value any) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, key)
	} else if raw, ok := value.(json.RawMessage); ok {
		m[key] = raw
	} else {
		b, _ := json.Marshal(value)
		m[key] = b
	}
	out, _ := json.Marshal(m)
	return out
}

// TestIngressTable posts every fixture body (ours and shared/'s) and
// hostile variants of them through the real host and plugin, and checks
// what Shopify is answered and what the records the plugin returns say:
// every authenticated JSON delivery is answered 200 and is on its way to
// Kafka, as a canonical event whose problems name what it left out, or as
// an unprocessable delivery with its body, headers and reason. Only a body
// that is not JSON is a 400.
func TestIngressTable(t *testing.T) {
	cfg := webhookConfig(map[string]string{ingressShop: ingressSecret})
	cfg.Sync.Inventory.Enabled = true
	h := newHost(t, cfg, hostOpts{})
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/webhooks/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type want struct {
		status  int
		typ     string // "" for no event
		problem string // a substring of one of the problems
		check   func(t *testing.T, ev *schemas.Event)
	}
	type delivery struct {
		name, topic string
		body        []byte
		want        want
	}
	var cases []delivery
	for _, dir := range []string{"testdata/webhooks", "../../../shared/fixtures/shopify/webhooks"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(files) == 0 && !strings.HasPrefix(dir, "testdata") {
			t.Logf("no shared fixtures at %s", dir)
		}
		for _, f := range files {
			topic, ok := fixtureTopic(f)
			if !ok {
				continue
			}
			b, _ := os.ReadFile(f)
			tp, _ := shopify.LookupTopic(topic)
			cases = append(cases, delivery{dir + "/" + filepath.Base(f), topic, b, want{status: 200, typ: tp.Type}})
		}
	}
	noTime := func(t *testing.T, ev *schemas.Event) {
		t.Helper()
		if !ev.OccurredAt.Equal(triggeredAt) {
			t.Errorf("occurred_at %s, want X-Shopify-Triggered-At %s (never the receive time)", ev.OccurredAt, triggeredAt)
		}
	}
	dataLacks := func(keys ...string) func(t *testing.T, ev *schemas.Event) {
		return func(t *testing.T, ev *schemas.Event) {
			t.Helper()
			var m map[string]json.RawMessage
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if _, ok := m[k]; ok {
					t.Errorf("data keeps %s: %s", k, m[k])
				}
			}
			if _, ok := m["email"]; !ok && ev.Entity.Kind == schemas.KindCustomer {
				t.Errorf("what parsed is gone too: %s", ev.Data)
			}
		}
	}
	checkout, customer, order := read("checkouts-create.json"), read("customers-update.json"), read("orders-create.json")
	cases = append(cases,
		delivery{"checkout with [] addresses", "checkouts/create",
			patch(t, patch(t, checkout, "shipping_address", json.RawMessage(`[]`)), "billing_address", json.RawMessage(`{}`)),
			want{200, schemas.TypeCheckoutCreated, "", func(t *testing.T, ev *schemas.Event) {
				if len(ev.Problems) != 0 || strings.Contains(string(ev.Data), "shipping_address") || strings.Contains(string(ev.Data), "billing_address") {
					t.Errorf("problems %q, data %s", ev.Problems, ev.Data)
				}
			}}},
		delivery{"customer with an odd timestamp", "customers/update", patch(t, customer, "created_at", "2019-01-01 00:00:00.000Z"),
			want{200, schemas.TypeCustomerUpdated, `created_at: cannot read "2019-01-01 00:00:00.000Z"`, dataLacks("created_at")}},
		delivery{"customer with updated_at NULL", "customers/update", patch(t, customer, "updated_at", "NULL"),
			want{200, schemas.TypeCustomerUpdated, `updated_at: cannot read "NULL"`, noTime}},
		delivery{"customer with a string boolean", "customers/update", patch(t, customer, "verified_email", "true"),
			want{200, schemas.TypeCustomerUpdated, "verified_email", dataLacks("verified_email")}},
		delivery{"order with non-decimal money", "orders/create", patch(t, order, "total_price", "12,50 €"),
			want{200, schemas.TypeOrderPlaced, `total_price: cannot read "12,50 €" as a decimal amount`, func(t *testing.T, ev *schemas.Event) {
				var o schemas.Order
				if err := json.Unmarshal(ev.Data, &o); err != nil || o.ID == 0 || len(o.LineItems) == 0 || !o.TotalPrice.IsZero() {
					t.Errorf("%v %+v", err, o)
				}
				if !strings.Contains(string(ev.Raw), "12,50 €") {
					t.Error("the value is not kept in raw")
				}
			}}},
		delivery{"id above 2^53", "customers/update", patch(t, customer, "id", json.RawMessage(`9007199254740993`)),
			want{200, schemas.TypeCustomerUpdated, "", func(t *testing.T, ev *schemas.Event) {
				if ev.Entity.ID != "9007199254740993" || !strings.Contains(string(ev.Data), `"id":9007199254740993`) {
					t.Errorf("entity %s, data %.60s", ev.Entity.ID, ev.Data)
				}
			}}},
		delivery{"deletion dated by the header", "customers/delete", read("customers-delete.json"),
			want{200, schemas.TypeCustomerDeleted, "", noTime}},
		delivery{"missing id", "customers/update", patch(t, customer, "id", nil),
			want{200, schemas.TypeDeliveryUnprocessable, `missing or zero "id"`, nil}},
		delivery{"id above int64", "orders/create", patch(t, order, "id", json.RawMessage(`99999999999999999999`)),
			want{200, schemas.TypeDeliveryUnprocessable, "id: cannot read 99999999999999999999", nil}},
		delivery{"JSON array", "orders/create", []byte(`[` + string(order) + `]`),
			want{200, schemas.TypeDeliveryUnprocessable, "not an object", nil}},
		delivery{"unknown topic", "themes/publish", []byte(`{"id":1}`),
			want{200, schemas.TypeDeliveryUnprocessable, `topic "themes/publish"`, func(t *testing.T, ev *schemas.Event) {
				if ev.Entity.Kind != shopify.KindDelivery {
					t.Errorf("kind %q", ev.Entity.Kind)
				}
			}}},
		delivery{"customer record replayed as a deletion", "customers/delete", customer,
			want{200, schemas.TypeDeliveryUnprocessable, "which a deletion never carries", func(t *testing.T, ev *schemas.Event) {
				if ev.Entity.Kind != schemas.KindCustomer {
					t.Errorf("kind %q", ev.Entity.Kind)
				}
			}}},
		delivery{"customer record replayed as a redaction", "customers/redact", customer,
			want{200, schemas.TypeDeliveryUnprocessable, `no "shop_id" or "shop_domain"`, nil}},
		delivery{"redaction replayed as a shop redaction", "shop/redact", read("customers-redact.json"),
			want{200, schemas.TypeDeliveryUnprocessable, "which a shop redaction never carries", nil}},
		delivery{"customer record replayed as an uninstall", "app/uninstalled", customer,
			want{200, schemas.TypeDeliveryUnprocessable, "does not name this shop", nil}},
		delivery{"not JSON", "orders/create", []byte(`{"id":1,`), want{400, "", "", nil}},
	)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("ingress-%d", i)
			hdr := signed(ingressShop, c.topic, id, ingressSecret, c.body)
			status, answer := post(t, h.url, c.body, hdr)
			if status != c.want.status {
				t.Fatalf("answered %d %q, want %d", status, answer, c.want.status)
			}
			if c.want.typ == "" {
				return
			}
			evID := schemas.NewID(shopify.Source, ingressShop, c.topic, id)
			if c.want.typ == schemas.TypeDeliveryUnprocessable {
				evID = schemas.NewID(shopify.Source, ingressShop, schemas.TypeDeliveryUnprocessable, id)
			}
			ev := h.event(evID)
			if ev == nil {
				t.Fatalf("no event %s among %d", evID, len(h.events()))
			}
			if ev.Type != c.want.typ {
				t.Fatalf("type %s, want %s (problems %q)", ev.Type, c.want.typ, ev.Problems)
			}
			if c.want.problem != "" && !strings.Contains(strings.Join(ev.Problems, "\n"), c.want.problem) {
				t.Errorf("problems %q lack %q", ev.Problems, c.want.problem)
			}
			if c.want.problem == "" && c.want.typ != schemas.TypeDeliveryUnprocessable && len(ev.Problems) > 0 && c.want.check == nil {
				t.Errorf("unexpected problems %q", ev.Problems)
			}
			if ev.Type == schemas.TypeDeliveryUnprocessable {
				var compact bytes.Buffer
				_ = json.Compact(&compact, c.body)
				if !bytes.Equal(ev.Raw, compact.Bytes()) || len(ev.Data) != 0 {
					t.Errorf("raw %.60s… data %s", ev.Raw, ev.Data)
				}
				// What `tajo replay` needs to post it again.
				for k, v := range map[string]string{
					"X-Shopify-Topic": c.topic, "X-Shopify-Shop-Domain": ingressShop, "X-Shopify-Webhook-Id": id,
					"X-Shopify-Api-Version": "2026-10", "X-Shopify-Triggered-At": hdr.Get(shopify.HeaderTriggeredAt),
				} {
					if ev.Headers[k] != v {
						t.Errorf("header %s = %q, want %q (headers %v)", k, ev.Headers[k], v, ev.Headers)
					}
				}
				if _, ok := ev.Headers["X-Shopify-Hmac-Sha256"]; ok {
					t.Error("the signature is kept; a replay signs anew")
				}
			}
			if c.want.check != nil {
				c.want.check(t, ev)
			}
		})
	}
	// The 400 is recorded: a webhook log row, besides the warn line.
	within(t, 5*time.Second, "the 400 in the webhook log", func() bool {
		for _, l := range h.log.all() {
			if l.Status == 400 && l.HMAC == "valid" && l.Shop == ingressShop {
				return true
			}
		}
		return false
	})
}

var triggeredAt = time.Date(2026, 11, 27, 11, 59, 0, 123456789, time.UTC)

func (h *host) event(id string) *schemas.Event {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range h.events() {
			if ev.ID == id {
				return ev
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func within(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawRequest writes a request's head and the first part of its body on a
// bare connection and returns the connection, so a test can see whether
// the host answers before the body is complete.
func rawRequest(t *testing.T, target string, hdr http.Header, contentLength int, partial []byte) net.Conn {
	t.Helper()
	u, _ := url.Parse(target)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.Path, u.Host, contentLength)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v[0])
	}
	b.WriteString("\r\n")
	if _, err := conn.Write(append([]byte(b.String()), partial...)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// answerOf reads the status line the host sent within d, or 0.
func answerOf(conn net.Conn, d time.Duration) (int, http.Header) {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil
	}
	res.Body.Close()
	return res.StatusCode, res.Header
}

// TestIngressAuthenticatesBeforeReading: the host judges what the headers
// tell before it reads a body (a missing signature, a shop no secret can
// judge, a Content-Length over the limit), bounds the bodies it reads
// unauthenticated at once, and answers a bad signature 401 for any shop.
func TestIngressAuthenticatesBeforeReading(t *testing.T) {
	cfg := webhookConfig(map[string]string{ingressShop: ingressSecret})
	h := newHost(t, cfg, hostOpts{})
	body := []byte(`{"id":1}`)
	partial := []byte(`{"id":1,"note":"`)

	unsigned := signed(ingressShop, "orders/create", "u-1", ingressSecret, body)
	unsigned.Del(shopify.HeaderHMAC)
	if s, _ := answerOf(rawRequest(t, h.url, unsigned, 1<<20, partial), 3*time.Second); s != http.StatusUnauthorized {
		t.Errorf("unsigned 1 MiB request: %d before its body was sent, want 401", s)
	}
	for _, topic := range []string{"customers/redact", "shop/redact", "customers/data_request"} {
		hdr := signed("unknown.myshopify.com", topic, "u-"+topic, "some-secret", body)
		if s, _ := answerOf(rawRequest(t, h.url, hdr, 1<<20, partial), 3*time.Second); s != http.StatusUnauthorized {
			t.Errorf("%s of a shop not configured, bad signature: %d before its body was sent, want 401", topic, s)
		}
		if s, _ := post(t, h.url, body, hdr); s != http.StatusUnauthorized {
			t.Errorf("%s of a shop not configured, bad signature: %d, want 401", topic, s)
		}
	}
	big := signed(ingressShop, "orders/create", "u-big", ingressSecret, body)
	if s, _ := answerOf(rawRequest(t, h.url, big, 9_000_000, partial), 3*time.Second); s != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MB body: %d before it was sent, want 413", s)
	}
	// A 9 MB body without a Content-Length: refused at the limit.
	nine := bytes.Repeat([]byte("a"), 9_000_000)
	req, _ := http.NewRequest(http.MethodPost, h.url, struct{ *bytes.Reader }{bytes.NewReader(nine)})
	req.Header = signed(ingressShop, "orders/create", "u-big2", ingressSecret, nine)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked 9 MB body: %d, want 413", res.StatusCode)
		}
	}

	// 32 senders that never finish their bodies hold every read slot: the
	// next one is told to come back, not queued behind them.
	var stuck []net.Conn
	for i := range 32 {
		hdr := signed(ingressShop, "orders/create", fmt.Sprintf("slow-%d", i), ingressSecret, body)
		stuck = append(stuck, rawRequest(t, h.url, hdr, 1<<20, partial))
	}
	// On a busy machine some of the 32 may not hold their slot yet when
	// the next one comes: a probe that gets a slot holds it too (its body
	// never ends), and the next probe tries again; with no bound on the
	// bodies read at once, none is ever told to come back.
	s, hdr := 0, http.Header(nil)
	for probe := 33; probe <= 40 && s != http.StatusServiceUnavailable; probe++ {
		conn := rawRequest(t, h.url, signed(ingressShop, "orders/create", fmt.Sprintf("slow-%d", probe), ingressSecret, body), 1<<20, partial)
		stuck = append(stuck, conn)
		s, hdr = answerOf(conn, time.Second)
	}
	if s != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("unauthenticated bodies past 32 at once: the last answer %d (Retry-After %q), want 503 with Retry-After", s, hdr.Get("Retry-After"))
	}
	for _, c := range stuck {
		c.Close()
	}
	within(t, 5*time.Second, "a genuine delivery accepted once the slow senders are gone", func() bool {
		s, _ := post(t, h.url, body, signed(ingressShop, "orders/create", "after-slow", ingressSecret, body))
		return s == http.StatusOK
	})
}

// TestIngressUnsignedSampled: a flood of unsigned requests is counted in
// full but reaches the webhook log only as a rate-limited sample, and the
// shop they claim is stored escaped, clipped and marked unverified.
func TestIngressUnsignedSampled(t *testing.T) {
	h := newHost(t, webhookConfig(map[string]string{ingressShop: ingressSecret}), hostOpts{})
	claimed := "évil-" + strings.Repeat("x", 300) + ".myshopify.com"
	const n = 60
	for i := range n {
		hdr := http.Header{}
		hdr.Set(shopify.HeaderShopDomain, claimed)
		hdr.Set(shopify.HeaderTopic, "customers/delete")
		if i%2 == 1 {
			hdr.Set(shopify.HeaderHMAC, "bm90IGEgc2lnbmF0dXJl")
		}
		if s, _ := post(t, h.url, []byte(`{"id":1}`), hdr); s != http.StatusUnauthorized {
			t.Fatalf("unsigned request %d answered %d", i, s)
		}
	}
	if got := h.src.Unauthenticated(); got != n {
		t.Errorf("%d refused requests counted, want %d", got, n)
	}
	if got := h.src.Counters()["unauthenticated"]; got != n { // what /status shows
		t.Errorf("/status counters: %d unauthenticated, want %d", got, n)
	}
	time.Sleep(1500 * time.Millisecond) // the webhook log is written every second
	logs := h.log.all()
	if len(logs) == 0 || len(logs) > 3*10 {
		t.Fatalf("%d webhook log rows for %d unsigned requests sent within a few seconds, want a sample of at most 10 a second", len(logs), n)
	}
	for _, l := range logs {
		if !strings.HasPrefix(l.Shop, "unverified:") || len(l.Shop) > 100 || strings.ContainsRune(l.Shop, 'é') || l.HMAC == "valid" {
			t.Fatalf("unsigned request logged as %+v", l)
		}
	}
}

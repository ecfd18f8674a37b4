package shopifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/sources/shopify"
)

// receiver records verified deliveries and answers with the next queued
// status (200 once the queue is empty).
type receiver struct {
	mu       sync.Mutex
	got      []shopify.Webhook
	statuses []int
	secrets  shopify.Secrets
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	wh, err := shopify.Verify(req.Header, body, r.secrets, time.Now())
	if err != nil {
		w.WriteHeader(shopify.HTTPStatus(err))
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, wh)
	status := 200
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	w.WriteHeader(status)
}

func TestWebhookSignedWithEveryHeader(t *testing.T) {
	s := NewStore(Options{Secret: "hush"})
	rc := &receiver{secrets: shopify.Secrets{Current: "hush"}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx := context.Background()

	res, err := s.SendWebhook(ctx, srv.URL, "customers/update", s.CustomerWebhook(7))
	if err != nil || !res.OK() {
		t.Fatalf("%v %+v", err, res)
	}
	wh := rc.got[0]
	if wh.Shop != s.Shop() || wh.Topic != "customers/update" || wh.APIVersion != "2026-10" ||
		wh.WebhookID == "" || wh.EventID == "" || wh.TriggeredAt.IsZero() {
		t.Fatalf("headers: %+v", wh)
	}
	if err := shopify.VerifyHMAC(wh.Body, shopify.Sign(wh.Body, "hush"), shopify.Secrets{Current: "hush"}); err != nil {
		t.Fatal(err)
	}
	// The REST body normalizes back to the generated customer.
	ev, err := shopify.Normalize(wh)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s.CustomerAt(7))
	if !jsonEqual(ev.Data, want) {
		t.Fatalf("normalized customer differs:\n got %s\nwant %s", ev.Data, want)
	}
	if ev.Entity.ID != "706405506930370091" {
		t.Fatalf("entity id %q: lost precision above 2^53", ev.Entity.ID)
	}

	res, _ = s.SendWebhook(ctx, srv.URL, "orders/create", s.OrderWebhook(3), WithSecret("wrong"))
	if res.OK() || res.Statuses[0] != 401 {
		t.Fatalf("a wrongly signed delivery was accepted: %+v", res)
	}
	for topic, obj := range map[string]any{"orders/create": s.OrderAt(3), "products/update": s.ProductAt(2), "checkouts/create": s.CheckoutAt(1)} {
		body := map[string][]byte{"orders/create": s.OrderWebhook(3), "products/update": s.ProductWebhook(2), "checkouts/create": s.CheckoutWebhook(1)}[topic]
		res, _ := s.SendWebhook(ctx, srv.URL, topic, body)
		if !res.OK() {
			t.Fatalf("%s: %+v", topic, res)
		}
		ev, err := shopify.Normalize(rc.got[len(rc.got)-1])
		if err != nil {
			t.Fatalf("%s body does not normalize: %v", topic, err)
		}
		if want, _ := json.Marshal(obj); !jsonEqual(ev.Data, want) {
			t.Fatalf("%s normalized differs:\n got %s\nwant %s", topic, ev.Data, want)
		}
	}
}

func TestWebhookDuplicatesRetriesReordering(t *testing.T) {
	s := NewStore(Options{})
	rc := &receiver{secrets: shopify.Secrets{Current: s.Options().Secret}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx := context.Background()

	res, err := s.SendWebhook(ctx, srv.URL, "orders/create", s.OrderWebhook(1), Duplicates(4))
	if err != nil || len(res.Statuses) != 4 {
		t.Fatalf("%v %+v", err, res)
	}
	for _, wh := range rc.got {
		if wh.WebhookID != rc.got[0].WebhookID {
			t.Fatal("duplicates carry different webhook ids")
		}
	}

	rc.mu.Lock()
	rc.got, rc.statuses = nil, []int{500, 503}
	rc.mu.Unlock()
	res, _ = s.SendWebhook(ctx, srv.URL, "orders/paid", s.OrderWebhook(2), Retries(3, time.Millisecond))
	if res.Attempts != 3 || !res.OK() || len(rc.got) != 3 || rc.got[2].WebhookID != rc.got[0].WebhookID {
		t.Fatalf("retries: %+v, %d deliveries", res, len(rc.got))
	}

	rc.mu.Lock()
	rc.got = nil
	rc.mu.Unlock()
	var ds []Delivery
	for i := range 8 {
		ds = append(ds, s.NewDelivery("customers/update", s.CustomerWebhook(i)))
	}
	if _, err := s.SendAll(ctx, srv.URL, ds, Reordered(42)); err != nil {
		t.Fatal(err)
	}
	inOrder := true
	for i, wh := range rc.got {
		inOrder = inOrder && wh.WebhookID == ds[i].WebhookID
	}
	if len(rc.got) != 8 || inOrder {
		t.Fatalf("reordered delivery arrived in order (%d deliveries)", len(rc.got))
	}
}

func TestMainServesUntilInterrupted(t *testing.T) {
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		done <- run([]string{"-listen", "127.0.0.1:0", "-customers", "5", "-orders", "3", "-token", "tok"}, &out, io.Discard, ready)
	}()
	addr := <-ready
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/admin/api/2026-10/graphql.json",
		bytes.NewReader([]byte(`{"query":"query { customers(first: $first) { nodes { id } pageInfo { hasNextPage } } }","variables":{"first":10}}`)))
	req.Header.Set("X-Shopify-Access-Token", "tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Data struct {
			Customers struct{ Nodes []struct{ ID string } }
		}
	}
	_ = json.NewDecoder(res.Body).Decode(&a)
	res.Body.Close()
	if len(a.Data.Customers.Nodes) != 5 {
		t.Fatalf("standalone store served %d customers", len(a.Data.Customers.Nodes))
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Main did not stop on SIGINT")
	}
}

// jsonEqual compares two encodings of the same object, whichever way
// each escaped HTML characters; numbers keep every digit (UseNumber).
func jsonEqual(a, b []byte) bool {
	norm := func(raw []byte) []byte {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return nil
		}
		return mustJSON(v)
	}
	x := norm(a)
	return x != nil && bytes.Equal(x, norm(b))
}

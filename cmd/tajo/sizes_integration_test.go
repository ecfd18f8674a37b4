//go:build integration

package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestRealSizesReachBrevo is DESIGN.md invariant 7's "Kafka writes respect
// the broker's message size" through the real binary, with the default
// batch_size of 500: a signed 2 MB orders/create and a burst of 300 signed
// 15 KB orders/create are each answered 200 and each order_placed reaches
// the Brevo simulator, with no "Message Size Too Large" in the log and no
// Kafka rejection in the dead letters; and a 9 MB body is answered 413
// before it has been sent whole. Once on the embedded broker, once on an
// external broker that accepts 1 MiB messages (Kafka's default) and whose
// topic already exists, so tajo cannot raise its limit; there, an order
// that cannot fit even compressed goes to the dead letters and the flow
// goes on.
func TestRealSizesReachBrevo(t *testing.T) {
	ext, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "tajo.events.v1"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "1048576"}))
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	for _, tc := range []struct {
		name, broker string
		limit        int
	}{
		{"embedded broker", "", 16 << 20},
		{"1 MiB broker", fmt.Sprintf("broker: {brokers: [%q]}\n", ext.ListenAddrs()[0]), 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) { realSizes(t, tc.broker, tc.limit) })
	}
}

func realSizes(t *testing.T, broker string, limit int) {
	const secret = "sizes-secret"
	r := startWebhookRun(t, secret, broker)
	srv, dir, addr, logPath, url := r.srv, r.dir, r.addr, r.logPath, r.url
	if log := mustRead(t, logPath); !strings.Contains(log, fmt.Sprintf("max_message_bytes=%d", limit)) {
		t.Fatalf("tajo did not read the broker's limit of %d bytes:\n%s", limit, tail(log, 30))
	}

	// One 2 MB order: 40 line items, each carrying the customization
	// properties a print-on-demand store attaches (JSON compresses, as
	// real orders do).
	big := sizedOrder(1, 2<<20)
	if len(big) < 2<<20 {
		t.Fatalf("the big order is %d bytes", len(big))
	}
	postSigned(t, url, "orders/create", "sizes-big", secret, big)

	// A burst of 300 orders of 15 KB, 20 at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	errs := make(chan error, 300)
	for i := 2; i <= 301; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			body := sizedOrder(i, 15<<10)
			code, err := postWebhook(url, body, signedHeaders(brevoShop, "orders/create", fmt.Sprintf("sizes-%d", i), secret, body))
			if err != nil || code != http.StatusOK {
				errs <- fmt.Errorf("order %d: answered %d, %v", i, code, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.Fatalf("log tail:\n%s", tail(mustRead(t, logPath), 30))
	}

	waitFor(t, "301 order_placed events in Brevo", logPath, 3*time.Minute, func() bool {
		return len(placedEvents(srv)) >= 301
	})
	placed := map[string]bool{}
	for _, e := range srv.Events() {
		if e.Name == "order_placed" {
			placed[fmt.Sprint(e.Identifiers["email_id"])] = true
		}
	}
	for i := 1; i <= 301; i++ {
		if !placed[sizedEmail(i)] {
			t.Errorf("no order_placed for %s", sizedEmail(i))
		}
	}
	log := mustRead(t, logPath)
	for _, bad := range []string{"Message Size Too Large", "MESSAGE_TOO_LARGE", "message too large", "kafka_message_too_large"} {
		if strings.Contains(log, bad) {
			t.Errorf("the log says %q:\n%s", bad, grepLines(log, bad))
		}
	}
	for _, d := range deadLetters(t, dir) {
		if code := fmt.Sprint(d["code"]); strings.HasPrefix(code, "kafka_") {
			t.Errorf("a dead letter from Kafka: %v %v", code, d["reason"])
		}
	}

	if limit == 1<<20 {
		tooLargeForTheBroker(t, r, secret)
	}

	// 9 MB: a Content-Length over the limit is answered 413 with the body
	// not yet sent, and a body without one is cut off at the limit.
	if code := sendPartly(t, addr, 9<<20, true, 0); code != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MB Content-Length, no body sent: %d, want 413", code)
	}
	if code := sendPartly(t, addr, 9<<20, false, 6<<20); code != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MB chunked body, 6 MB sent: %d, want 413", code)
	}
	stopTajo(t, r.cmd, r.signal)
}

// tooLargeForTheBroker: an order whose envelope cannot fit the broker
// even compressed (a 1 MB note of random text, twice in its envelope) is
// answered 200 and kept in the dead letters with its size and the limit
// (issue 9 item 10: it was retried forever, then every webhook got 503);
// an order after it still reaches Brevo.
func tooLargeForTheBroker(t *testing.T, r *webhookRun, secret string) {
	t.Helper()
	noise := make([]byte, 768<<10)
	for i := range noise {
		noise[i] = byte(rand.Uint32())
	}
	var o map[string]any
	json.Unmarshal(sizedOrder(400, 1<<10), &o)
	o["note"] = base64.StdEncoding.EncodeToString(noise)
	big, _ := json.Marshal(o)
	postSigned(t, r.url, "orders/create", "sizes-noise", secret, big)
	after := sizedOrder(401, 15<<10)
	postSigned(t, r.url, "orders/create", "sizes-after", secret, after)
	waitFor(t, "the order after the one too large for the broker", r.logPath, time.Minute, func() bool {
		for _, e := range r.srv.Events() {
			if e.Name == "order_placed" && e.Identifiers["email_id"] == sizedEmail(401) {
				return true
			}
		}
		return false
	})
	var found bool
	for _, d := range deadLetters(t, r.dir) {
		if d["code"] == "kafka_message_too_large" {
			found = strings.Contains(fmt.Sprint(d["reason"]), "the limit is 1048576 bytes")
		}
	}
	if !found {
		t.Errorf("no kafka_message_too_large dead letter naming the 1 MiB limit: %v", deadLetters(t, r.dir))
	}
	for _, e := range r.srv.Events() {
		if e.Identifiers["email_id"] == sizedEmail(400) {
			t.Errorf("the order too large for the broker reached Brevo: %+v", e)
		}
	}
}

func sizedEmail(i int) string { return fmt.Sprintf("size.%d@example.com", i) }

// sizedOrder is a live orders/create of at least size bytes for its own
// customer.
func sizedOrder(i, size int) []byte {
	email := sizedEmail(i)
	const items = 40
	per := size / items
	var lines []map[string]any
	for j := 1; j <= items; j++ {
		var props []map[string]string
		for k := 0; len(props)*120 < per; k++ {
			props = append(props, map[string]string{"name": fmt.Sprintf("Engraving line %d", k),
				"value": fmt.Sprintf("For order %d, item %d: happy birthday to the best friend in the world, from all of us (%d)", i, j, k)})
		}
		lines = append(lines, map[string]any{"id": i*1000 + j, "product_id": 11, "variant_id": 12, "title": fmt.Sprintf("Custom mug %d", j),
			"quantity": 1, "price": "10.00", "properties": props})
	}
	o := map[string]any{"id": 3_000_000 + i, "name": fmt.Sprintf("#S%d", i), "email": email, "currency": "EUR",
		"financial_status": "paid", "test": false, "total_price": "400.00", "subtotal_price": "400.00", "total_tax": "0.00",
		"created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z", "processed_at": "2026-11-20T09:00:00Z",
		"line_items": lines,
		"customer": map[string]any{"id": 4_000_000 + i, "email": email, "first_name": "Size", "last_name": fmt.Sprint(i),
			"created_at": "2026-10-01T00:00:00Z", "updated_at": "2026-11-20T09:00:00Z"}}
	b, _ := json.Marshal(o)
	return b
}

// sendPartly sends the headers of a signed-looking orders/create of size
// bytes (with its Content-Length, or chunked), then at most send bytes of
// the body, and returns the status tajo answers without waiting for the
// rest.
func sendPartly(t *testing.T, addr string, size int, contentLength bool, send int) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hdr := "POST /webhooks/shopify HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
		"X-Shopify-Topic: orders/create\r\nX-Shopify-Shop-Domain: " + brevoShop + "\r\nX-Shopify-Webhook-Id: sizes-9mb\r\n" +
		"X-Shopify-Hmac-Sha256: c2l6ZXMtbm90LXRoZS1yZWFsLXNpZ25hdHVyZS1hdC1hbGw=\r\n"
	if contentLength {
		hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	} else {
		hdr += "Transfer-Encoding: chunked\r\n\r\n"
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(hdr)); err != nil {
		t.Fatal(err)
	}
	// Write in the background: once tajo answers it stops reading, and a
	// write may block or fail.
	go func() {
		chunk := []byte(strings.Repeat("a", 64<<10))
		for sent := 0; sent < send; sent += len(chunk) {
			data := chunk
			if !contentLength {
				data = append([]byte(fmt.Sprintf("%x\r\n", len(chunk))), append(chunk, "\r\n"...)...)
			}
			if _, err := conn.Write(data); err != nil {
				return
			}
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a %d-byte body: %v", size, err)
	}
	res.Body.Close()
	return res.StatusCode
}

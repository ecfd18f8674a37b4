package plugins

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/state"
)

// openWindow opens the delivery window on the state journal of dir, as a
// run of tajo does (closed with the test).
func openWindow(t *testing.T, dir string, window time.Duration) (*deliveries, func()) {
	t.Helper()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := state.OpenJournal(st, filepath.Join(dir, "state.journal"))
	if err != nil {
		t.Fatal(err)
	}
	d := newDeliveries(j, "plugins.shopify.webhooks", 0)
	d.configure(&WebhookDedupe{IDHeaders: []string{"X-Id"}, ScopeHeaders: []string{"X-Shop"}, Window: window})
	return d, func() { j.Close(); st.Close() }
}

func deliveryKey(shop, id string) string {
	return shop + "\x00" + id
}

// TestDedupeClaims covers the window's states: a claim blocks copies until
// its outcome; a failed outcome (503) lets the next copy claim again; a
// 2xx makes every later copy a duplicate, across a reopen of the state,
// until the window has passed; a lost outcome expires.
func TestDedupeClaims(t *testing.T) {
	dir := t.TempDir()
	d, closeWindow := openWindow(t, dir, time.Hour)
	ctx := context.Background()
	key := deliveryKey("a.myshopify.com", "w1")
	dup, c, err := d.claim(ctx, key)
	if dup != nil || err != nil || c == nil {
		t.Fatalf("first claim: %q %v %v", dup, err, c)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := d.claim(short, key); err == nil {
		t.Fatal("a copy did not wait for the claim in flight")
	}
	d.finish(c, http.StatusServiceUnavailable, WebhookInfo{})
	dup, c, err = d.claim(ctx, key)
	if dup != nil || err != nil {
		t.Fatalf("after a delivery answered 503: dup=%q err=%v", dup, err)
	}
	waiter := make(chan []byte)
	go func() {
		dup, _, _ := d.claim(ctx, key)
		waiter <- dup
	}()
	time.Sleep(20 * time.Millisecond)
	d.finish(c, http.StatusOK, WebhookInfo{Topic: "orders/create", APIVersion: "2026-10"})
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}
	v := <-waiter
	if v == nil {
		t.Fatal("the waiting copy was not told it is a duplicate")
	}
	if info := duplicateInfo("a.myshopify.com", "w1", v); info.Topic != "orders/create" || info.APIVersion != "2026-10" {
		t.Fatalf("the duplicate's log entry lost the delivery's topic: %+v", info)
	}
	closeWindow()

	d, closeWindow = openWindow(t, dir, time.Hour)
	defer closeWindow()
	if dup, _, _ := d.claim(ctx, key); dup == nil {
		t.Fatal("the committed delivery was forgotten across a reopen")
	}
	if err := d.j.Checkpoint(); err != nil { // Sweep reads the store
		t.Fatal(err)
	}
	d.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := d.sweep(); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.j.Get(d.bucket, key); v != nil {
		t.Fatal("the sweep kept a delivery outside the window")
	}
	if dup, _, _ := d.claim(ctx, key); dup != nil {
		t.Fatal("a delivery outside the window is still a duplicate")
	}
	// That claim's outcome never comes: it expires.
	d.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	d.expireClaims()
	if len(d.claims) != 0 {
		t.Fatal("a lost claim did not expire")
	}
}

// TestDedupeFinishesTogether: outcomes that arrive together commit the
// deliveries answered 2xx with one journal write, release the others,
// and wake the copies waiting on either.
func TestDedupeFinishesTogether(t *testing.T) {
	dir := t.TempDir()
	d, closeWindow := openWindow(t, dir, time.Hour)
	ctx := context.Background()
	var claims []*claim
	for i := range 3 {
		_, c, err := d.claim(ctx, deliveryKey("a.myshopify.com", fmt.Sprint("w", i)))
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, c)
	}
	waiting := make(chan []byte)
	go func() {
		dup, _, _ := d.claim(ctx, deliveryKey("a.myshopify.com", "w0"))
		waiting <- dup
	}()
	for i, status := range []int{200, 503, 204} {
		d.finish(claims[i], status, WebhookInfo{})
	}
	if err := d.flush(); err != nil {
		t.Fatal(err)
	}
	if <-waiting == nil {
		t.Fatal("the copy waiting on a delivery answered 200 was not told it is a duplicate")
	}
	closeWindow()
	d, closeWindow = openWindow(t, dir, time.Hour)
	defer closeWindow()
	for i, want := range []bool{true, false, true} {
		if dup, _, _ := d.claim(ctx, deliveryKey("a.myshopify.com", fmt.Sprint("w", i))); (dup != nil) != want {
			t.Fatalf("w%d: duplicate %v after a reopen, want %v", i, dup != nil, want)
		}
	}
}

// TestDedupeKey: the id is scoped by the lower-cased shop; a request
// without an id, or with one no sender sends, is not deduplicated, and
// nothing is while the plugin declared no window.
func TestDedupeKey(t *testing.T) {
	d := newDeliveries(nil, "b", 0)
	h := http.Header{"X-Id": {"w1"}, "X-Shop": {" A.myshopify.com "}}
	if k, _, _ := d.key(h); k != "" {
		t.Fatalf("key %q without a declared window", k)
	}
	d.configure(&WebhookDedupe{IDHeaders: []string{"X-Id"}, ScopeHeaders: []string{"X-Shop"}, Window: time.Hour})
	if k, scope, id := d.key(h); k != deliveryKey("a.myshopify.com", "w1") || scope != "a.myshopify.com" || id != "w1" {
		t.Fatalf("key %q %q %q", k, scope, id)
	}
	for _, h := range []http.Header{{"X-Shop": {"a"}}, {"X-Id": {string(make([]byte, maxDedupeHeader+1))}}} {
		if k, _, _ := d.key(h); k != "" {
			t.Fatalf("key %q for %v", k, h)
		}
	}
}

// TestDedupeInMemorySweeps: without a state store (tajo test) the window
// still forgets deliveries older than it.
func TestDedupeInMemorySweeps(t *testing.T) {
	d := newDeliveries(nil, "b", 0)
	d.configure(&WebhookDedupe{IDHeaders: []string{"X-Id"}, Window: time.Hour})
	_, c, _ := d.claim(context.Background(), "k")
	d.finish(c, http.StatusOK, WebhookInfo{})
	d.flush()
	d.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := d.sweep(); err != nil {
		t.Fatal(err)
	}
	if keys, _ := d.j.KeysAfter(d.bucket, ""); len(keys) != 0 {
		t.Fatalf("kept %q", keys)
	}
}

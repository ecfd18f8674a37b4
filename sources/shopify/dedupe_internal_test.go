package shopify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tajo/tajo/plugins"
)

// TestDedupeClaims covers the window's states: a claim blocks copies until
// its outcome; a failed outcome lets the next copy claim again; a
// committed one makes every later copy a duplicate, across a reopen of
// the file, until the window has passed; a lost outcome expires.
func TestDedupeClaims(t *testing.T) {
	dir := t.TempDir()
	d, err := openDedupe(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := dedupeKey("a.myshopify.com", "w1")
	dup, tok, err := d.claim(ctx, key)
	if dup || err != nil || tok == nil {
		t.Fatalf("first claim: %v %v %q", dup, err, tok)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := d.claim(short, key); err == nil {
		t.Fatal("a copy did not wait for the claim in flight")
	}
	if err := d.finish(tok, false); err != nil {
		t.Fatal(err)
	}
	dup, tok, err = d.claim(ctx, key)
	if dup || err != nil {
		t.Fatalf("after a failed delivery: dup=%v err=%v", dup, err)
	}
	waiter := make(chan bool)
	go func() {
		dup, _, _ := d.claim(ctx, key)
		waiter <- dup
	}()
	time.Sleep(20 * time.Millisecond)
	if err := d.finish(tok, true); err != nil {
		t.Fatal(err)
	}
	if !<-waiter {
		t.Fatal("the waiting copy was not told it is a duplicate")
	}
	d.close()

	d, err = openDedupe(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if dup, _, _ := d.claim(ctx, key); !dup {
		t.Fatal("the committed delivery was forgotten across a reopen")
	}
	d.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if n, err := d.prune(100); n != 1 || err != nil {
		t.Fatalf("prune: %d %v", n, err)
	}
	if dup, _, _ := d.claim(ctx, key); dup {
		t.Fatal("a delivery outside the window is still a duplicate")
	}
	// That claim's outcome never comes: it expires.
	d.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	d.expireClaims()
	if len(d.claims) != 0 {
		t.Fatal("a lost claim did not expire")
	}
	if _, _, err := decodeToken([]byte("garbage")); err == nil {
		t.Fatal("a malformed token was accepted")
	}
}

// TestDedupeFinishesTogether: outcomes handed over together (the host's
// webhook stream) commit the deliveries answered 2xx with one write,
// release the others, wake the copies waiting on either, and report a
// malformed token without losing the rest.
func TestDedupeFinishesTogether(t *testing.T) {
	dir := t.TempDir()
	d, err := openDedupe(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var done []plugins.WebhookOutcome
	for i, status := range []int{200, 503, 204} {
		_, tok, err := d.claim(ctx, dedupeKey("a.myshopify.com", fmt.Sprint("w", i)))
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, plugins.WebhookOutcome{Token: tok, Status: status})
	}
	waiting := make(chan bool)
	go func() {
		dup, _, _ := d.claim(ctx, dedupeKey("a.myshopify.com", "w0"))
		waiting <- dup
	}()
	done = append(done, plugins.WebhookOutcome{Token: []byte("garbage"), Status: 200})
	p := &Plugin{dedupe: d}
	if err := p.WebhooksDone(ctx, done); !errors.Is(err, errBadToken) {
		t.Fatalf("got %v, want the malformed token reported", err)
	}
	if !<-waiting {
		t.Fatal("the copy waiting on a delivery answered 200 was not told it is a duplicate")
	}
	d.close()
	if d, err = openDedupe(dir, time.Hour); err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for i, want := range []bool{true, false, true} {
		if dup, _, _ := d.claim(ctx, dedupeKey("a.myshopify.com", fmt.Sprint("w", i))); dup != want {
			t.Fatalf("w%d: duplicate %v after a reopen, want %v", i, dup, want)
		}
	}
}

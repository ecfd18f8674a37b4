package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// countingStore counts Updates and fails them while fail is set.
type countingStore struct {
	state.Store
	updates atomic.Int64
	fail    atomic.Bool
}

func (c *countingStore) Update(fn func(state.Tx) error) error {
	c.updates.Add(1)
	if c.fail.Load() {
		return errors.New("disk full")
	}
	return c.Store.Update(fn)
}

func openStore(t *testing.T) *countingStore {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &countingStore{Store: st}
}

func bucketLen(t *testing.T, st state.Store, bucket string) int {
	t.Helper()
	n := 0
	if err := st.View(func(tx state.Tx) error {
		return tx.ForEach(bucket, func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Entries expire after the window, both the entry and its time index; a
// younger entry stays.
func TestSentLogPrunesAfterWindow(t *testing.T) {
	st := openStore(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	l := newSentLog(st, "brevo", 168*time.Hour, func() time.Time { return now })
	if err := l.add([]string{"a|order_placed", "b|order_placed"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(100 * time.Hour)
	if err := l.add([]string{"c|order_placed"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(100 * time.Hour) // a and b are 200h old, c 100h
	if err := l.prune(); err != nil {
		t.Fatal(err)
	}
	got, _, err := l.lookup([]string{"a|order_placed", "b|order_placed", "c|order_placed"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]sentState{unsent, unsent, saved}) {
		t.Fatalf("after the window: %v, want a and b forgotten, c kept", got)
	}
	if n, m := bucketLen(t, st, l.bucket), bucketLen(t, st, l.byTime); n != 1 || m != 1 {
		t.Fatalf("%d entries and %d index entries left, want 1 and 1", n, m)
	}
}

// A failed commit after Brevo accepted: the record is retryable, the event
// is not sent again by this process, and the retry makes it durable.
func TestSentLogCommitFailureIsRetriedNotResent(t *testing.T) {
	st := openStore(t)
	l := newSentLog(st, "brevo", time.Hour, time.Now)
	st.fail.Store(true)
	err := l.add([]string{"a|order_placed"})
	if pipeline.ClassOf(err) != pipeline.Retryable {
		t.Fatalf("a failed commit: %v, want a retryable error", err)
	}
	got, _, _ := l.lookup([]string{"a|order_placed"})
	if got[0] != unsaved {
		t.Fatalf("state %v, want unsaved (accepted, never resent)", got[0])
	}
	st.fail.Store(false)
	if err := l.add([]string{"a|order_placed"}); err != nil {
		t.Fatal(err)
	}
	// A new log on the same store (a restart) knows it.
	got, _, _ = newSentLog(st, "brevo", time.Hour, time.Now).lookup([]string{"a|order_placed"})
	if got[0] != saved {
		t.Fatalf("state after the retry %v, want saved", got[0])
	}
}

// The events of one request are recorded in one commit, not one per event.
func TestSentLogOneCommitPerRequest(t *testing.T) {
	st := openStore(t)
	l := newSentLog(st, "brevo", time.Hour, time.Now)
	keys := make([]string, 150)
	for i := range keys {
		keys[i] = fmt.Sprintf("%d|order_placed", i)
	}
	if err := l.add(keys); err != nil {
		t.Fatal(err)
	}
	if n := st.updates.Load(); n != 1 {
		t.Fatalf("%d commits for one request's 150 events, want 1", n)
	}
}

// Through the sink: a Write of 50 orders sends one /events/batch and makes
// two commits (the intent before it, the outcome after it); the same Write
// again sends and commits nothing.
func TestSinkCommitsOncePerEventRequest(t *testing.T) {
	srv := brevotest.New(brevotest.Options{Lists: map[int64]string{1: "All", 2: "Buyers", 3: "Abandoned"}})
	defer srv.Close()
	st := openStore(t)
	cfg := *NewSinkConfig().(*SinkConfig)
	cfg.APIKey, cfg.BaseURL, cfg.ImportPollInterval = config.Secret(srv.APIKey()), srv.URL(), 5*time.Millisecond
	cfg.Lists.AllCustomers, cfg.Lists.Buyers, cfg.Lists.AbandonedCart = 1, 2, 3
	s, err := NewSink(cfg, pipeline.Env{Name: "brevo", State: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var batch []*pipeline.Record
	for i := 1; i <= 50; i++ {
		data, _ := json.Marshal(map[string]any{"id": i, "email": fmt.Sprintf("c%d@example.com", i), "total_price": "10.00",
			"line_items": []any{map[string]any{"id": 1, "product_id": 5, "quantity": 1, "price": "10.00"}},
			"customer":   map[string]any{"id": i, "email": fmt.Sprintf("c%d@example.com", i)}})
		at := time.Now().UTC()
		ev, _ := json.Marshal(schemas.Event{Schema: schemas.EventSchema, ID: fmt.Sprintf("ev-%d", i), Source: "shopify", Shop: "s.myshopify.com",
			Type: schemas.TypeOrderPlaced, OccurredAt: at, ReceivedAt: at, Entity: schemas.Entity{Kind: schemas.KindOrder, ID: fmt.Sprint(i)}, Data: data})
		batch = append(batch, &pipeline.Record{Key: []byte("s.myshopify.com"), Value: ev})
	}
	for round := 0; round < 2; round++ {
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.RequestCount("POST /events/batch"); n != 1 {
		t.Fatalf("%d event requests, want 1", n)
	}
	if n := st.updates.Load(); n != 2 {
		t.Fatalf("%d state commits for one event request, want 2 (intent, outcome)", n)
	}
}

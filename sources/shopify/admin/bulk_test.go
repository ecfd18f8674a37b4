package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// TestBackfillEndToEnd also proves the client asks for groupObjects: on
// API 2026-10 the simulator, like Shopify, writes ungrouped files by
// default, which the client would refuse.
func TestBackfillEndToEnd(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 97, Orders: 150, Products: 23, Checkouts: 31, BulkPolls: 3, BigOrderEvery: 40})
	defer s.Close()
	c := newClient(t, s)
	for _, kind := range admin.Kinds {
		t.Run(kind, func(t *testing.T) {
			i := 0
			op, err := c.Backfill(context.Background(), kind, time.Time{}, func(k string, obj any, updatedAt time.Time) error {
				if k != kind {
					t.Fatalf("kind %q", k)
				}
				if got, want := jsonOf(t, obj), jsonOf(t, generated(s, kind, i)); got != want {
					t.Fatalf("object %d:\n got %s\nwant %s", i, got, want)
				}
				if updatedAt.IsZero() {
					t.Fatal("no updated_at")
				}
				i++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if i != count(s, kind) || op.Status != "COMPLETED" || op.Objects() < int64(i) {
				t.Fatalf("emitted %d of %d; operation %+v", i, count(s, kind), op)
			}
		})
	}
	if st := s.Stats(); st.TokenOnDownload != 0 || st.BulkDownloads != 4 {
		t.Fatalf("stats %+v: the access token must not go to the result URL", st)
	}
}

func TestBackfillSinceAndProgress(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 40, Products: 1, BulkPolls: 4})
	defer s.Close()
	c := newClient(t, s)
	op, err := c.StartBulk(context.Background(), admin.KindCustomer, s.CustomerAt(30).UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	op, err = c.WaitBulk(context.Background(), op.ID, func(op admin.BulkOperation) {
		seen = append(seen, fmt.Sprintf("%s:%d", op.Status, op.Objects()))
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != "RUNNING:2 RUNNING:5 RUNNING:7 COMPLETED:10" {
		t.Fatalf("progress %v", seen)
	}
	n, err := c.DownloadBulk(context.Background(), op.URL, admin.KindCustomer, 0, func(string, any, time.Time) error { return nil })
	if err != nil || n != 10 {
		t.Fatalf("%d objects since customer 30: %v", n, err)
	}
}

func TestBackfillFailedOperationIsAnError(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{})
	defer s.Close()
	s.FailNextBulk("INTERNAL_SERVER_ERROR")
	_, err := newClient(t, s).Backfill(context.Background(), admin.KindOrder, time.Time{}, func(string, any, time.Time) error {
		t.Fatal("a failed operation emitted objects")
		return nil
	})
	if pipeline.ClassOf(err) != pipeline.Retryable || !strings.Contains(err.Error(), "FAILED (errorCode INTERNAL_SERVER_ERROR") {
		t.Fatalf("got %v", err)
	}
}

func TestBackfillEmitErrorStops(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{})
	defer s.Close()
	stop := pipeline.Stop(fmt.Errorf("sink is gone"))
	n := 0
	_, err := newClient(t, s).Backfill(context.Background(), admin.KindCustomer, time.Time{}, func(string, any, time.Time) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if err != stop || n != 5 {
		t.Fatalf("emit error not returned as is: %v after %d", err, n)
	}
}

// cutOnce serves a bulk file but, the first time, drops the connection
// after half of it (or, with stall, stops sending).
type cutOnce struct {
	target string
	stall  bool
	cuts   atomic.Int32
}

func (c *cutOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := http.Get(c.target)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if c.cuts.Add(1) == 1 {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		if c.stall {
			<-r.Context().Done()
			return
		}
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

func TestDownloadResumesAfterCutConnection(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Orders: 120, Products: 9, Customers: 10})
	defer s.Close()
	c := newClient(t, s)
	op, err := c.StartBulk(context.Background(), admin.KindOrder, time.Time{})
	if err == nil {
		op, err = c.WaitBulk(context.Background(), op.ID, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	proxy := &cutOnce{target: op.URL}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	seen := map[schemas.ID]int{}
	n, err := c.DownloadBulk(context.Background(), srv.URL, admin.KindOrder, 0, func(_ string, obj any, _ time.Time) error {
		o := obj.(*schemas.Order)
		seen[o.ID]++
		if len(o.LineItems) == 0 {
			t.Fatalf("order %d emitted without its line items", o.ID)
		}
		return nil
	})
	if err != nil || n != 120 || len(seen) != 120 || proxy.cuts.Load() != 2 {
		t.Fatalf("n=%d distinct=%d cuts=%d err=%v", n, len(seen), proxy.cuts.Load(), err)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("order %d emitted %d times", id, k)
		}
	}
	// A caller that persisted 100 objects resumes after them.
	n, err = c.DownloadBulk(context.Background(), op.URL, admin.KindOrder, 100, func(_ string, obj any, _ time.Time) error {
		if id := obj.(*schemas.Order).ID; id < s.OrderAt(100).ID {
			t.Fatalf("skipped object %d emitted", id)
		}
		return nil
	})
	if err != nil || n != 120 {
		t.Fatalf("resume: %d %v", n, err)
	}
}

func TestCurrentBulkAfterRestart(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{BulkPolls: 1})
	defer s.Close()
	if _, ok, err := newClient(t, s).CurrentBulk(context.Background()); ok || err != nil {
		t.Fatalf("a fresh shop has a current operation: %v", err)
	}
	op, err := newClient(t, s).StartBulk(context.Background(), admin.KindProduct, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cur, ok, err := newClient(t, s).CurrentBulk(context.Background())
	if err != nil || !ok || cur.ID != op.ID || cur.Status != "COMPLETED" || cur.URL == "" {
		t.Fatalf("%+v %v %v", cur, ok, err)
	}
}

func TestDownloadStalledStreamTimesOut(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 200, Products: 1})
	defer s.Close()
	c := newClient(t, s, func(cfg *admin.Config) { cfg.Timeout = 300 * time.Millisecond })
	op, err := c.StartBulk(context.Background(), admin.KindCustomer, time.Time{})
	if err == nil {
		op, err = c.WaitBulk(context.Background(), op.ID, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	proxy := &cutOnce{target: op.URL, stall: true}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	slow := true
	n, err := c.DownloadBulk(context.Background(), srv.URL, admin.KindCustomer, 0, func(string, any, time.Time) error {
		if slow {
			slow = false
			time.Sleep(500 * time.Millisecond) // a slow sink is not a stalled stream
		}
		return nil
	})
	if err != nil || n != 200 || proxy.cuts.Load() != 2 {
		t.Fatalf("n=%d attempts=%d err=%v", n, proxy.cuts.Load(), err)
	}
	// A sink slower than the timeout on a healthy stream costs no retry.
	retries := c.Stats().Retries
	slowEvery := 0
	n, err = c.DownloadBulk(context.Background(), op.URL, admin.KindCustomer, 0, func(string, any, time.Time) error {
		if slowEvery++; slowEvery%100 == 1 {
			time.Sleep(400 * time.Millisecond)
		}
		return nil
	})
	if err != nil || n != 200 || c.Stats().Retries != retries {
		t.Fatalf("slow sink: n=%d retries %d→%d err=%v", n, retries, c.Stats().Retries, err)
	}
}

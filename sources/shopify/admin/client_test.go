package admin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

func reconcileAll(t *testing.T, c *admin.Client, kind string, first int) []admin.Object {
	t.Helper()
	var all []admin.Object
	_, err := c.Reconcile(context.Background(), kind, admin.Cursor{}, first, func(p admin.Page) error {
		all = append(all, p.Objects...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestThrottlingWaitsInsteadOfBeingThrottled(t *testing.T) {
	// A small bucket with a fast refill: every page costs 27 of 60 points,
	// so the client must wait before most pages.
	s := shopifytest.New(shopifytest.Options{Customers: 300, Products: 1, MaxAvailable: 60, RestoreRate: 600})
	defer s.Close()
	c := newClient(t, s)
	all := reconcileAll(t, c, admin.KindCustomer, 25)
	if len(all) != 300 {
		t.Fatalf("%d customers, want 300", len(all))
	}
	if st := s.Stats(); st.Throttled != 0 {
		t.Fatalf("the simulator answered THROTTLED %d times: the client overdrew the bucket instead of waiting", st.Throttled)
	}
	st := c.Stats()
	if st.ThrottleWait <= 0 || st.Throttled != 0 {
		t.Fatalf("client did not wait for the bucket: %+v", st)
	}
	// 12 pages of 27 points from 60 at 600/s need (12*27-60)/600 = 440ms
	// of refill, part of which happens while requests are in flight.
	if st.ThrottleWait < 100*time.Millisecond {
		t.Fatalf("waited only %v for 440ms of refill", st.ThrottleWait)
	}
}

func TestThrottledAnswerIsWaitedOut(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 10, Products: 1, MaxAvailable: 100, RestoreRate: 50})
	defer s.Close()
	c := newClient(t, s)
	s.Drain() // another app spent the bucket
	start := time.Now()
	all := reconcileAll(t, c, admin.KindCustomer, 10)
	if len(all) != 10 {
		t.Fatalf("%d customers", len(all))
	}
	// The page costs 12; the client learns the bucket is empty from the
	// THROTTLED answer and waits ~12/50 s before asking again, once.
	if st := s.Stats(); st.Throttled != 1 {
		t.Fatalf("simulator throttled %d times, want exactly the first attempt", st.Throttled)
	}
	if st := c.Stats(); st.Throttled != 1 || st.ThrottleWait < 150*time.Millisecond {
		t.Fatalf("client stats %+v", st)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("retried without waiting for the refill")
	}
}

func Test429RetryAfterHonoured(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 3, Products: 1})
	defer s.Close()
	c := newClient(t, s)
	s.Inject(shopifytest.Fault{Status: 429, RetryAfter: "1", Body: `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`})
	start := time.Now()
	if got := reconcileAll(t, c, admin.KindCustomer, 10); len(got) != 3 {
		t.Fatalf("%d customers", len(got))
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, Retry-After said 1s", d)
	}
	if st := c.Stats(); st.Retries != 1 || st.BackoffWait != time.Second {
		t.Fatalf("stats %+v", st)
	}
}

func Test5xxRetriedWithBackoff(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 3, Products: 1})
	defer s.Close()
	c := newClient(t, s)
	s.Inject(shopifytest.Fault{Status: 500}, shopifytest.Fault{Status: 502, Body: "<html>Bad gateway</html>"}, shopifytest.Fault{Status: 503})
	if got := reconcileAll(t, c, admin.KindCustomer, 10); len(got) != 3 {
		t.Fatalf("%d customers", len(got))
	}
	if st := c.Stats(); st.Retries != 3 {
		t.Fatalf("retries %d", st.Retries)
	}

	c = newClient(t, s, func(cfg *admin.Config) { cfg.MaxRetries = 2 })
	for range 3 {
		s.Inject(shopifytest.Fault{Status: 503})
	}
	_, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10)
	if err == nil || pipeline.ClassOf(err) != pipeline.Retryable || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("after the retries: %v", err)
	}
}

func Test401IsFatalAndNamesTheShop(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{})
	defer s.Close()
	c := newClient(t, s, func(cfg *admin.Config) { cfg.AccessToken = "shpat_revoked_secret_value" })
	_, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10)
	if pipeline.ClassOf(err) != pipeline.Fatal {
		t.Fatalf("401 is %v, want fatal: %v", pipeline.ClassOf(err), err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "access token was refused for shop "+s.Shop()) || strings.Contains(msg, "shpat_revoked_secret_value") {
		t.Fatalf("message %q", msg)
	}
	if s.Stats().Unauthorized != 1 {
		t.Fatal("a 401 was retried")
	}
	s.Inject(shopifytest.Fault{Status: 403, Body: `{"errors":"Forbidden"}`})
	_, err = newClient(t, s).FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10)
	if pipeline.ClassOf(err) != pipeline.Fatal {
		t.Fatalf("403: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]admin.Config{
		"shop":      {Shop: "evil.com/x.myshopify.com", AccessToken: "t"},
		"token":     {Shop: "a.myshopify.com"},
		"admin_url": {Shop: "a.myshopify.com", AccessToken: "t", AdminURL: "ftp://x"},
	} {
		if _, err := admin.New(cfg); pipeline.ClassOf(err) != pipeline.Fatal {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHostileAnswers(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 2, Products: 1})
	defer s.Close()
	page := func(nodes string) string {
		return `{"data":{"customers":{"nodes":[` + nodes + `],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}`
	}
	cases := []struct {
		name, body string
		class      pipeline.Class
		want       string
	}{
		{"truncated", `{"data":{"customers":{"nodes":[{"id":"gid://shopify/Cus`, pipeline.Retryable, "not valid JSON"},
		{"empty", ``, pipeline.Retryable, "not valid JSON"},
		{"html", `<html>oops</html>`, pipeline.Retryable, "not valid JSON"},
		{"id as number", page(`{"id":706405506930370084}`), pipeline.Fatal, "customerNode.id"},
		{"id overflow", page(`{"id":"gid://shopify/Customer/9223372036854775808"}`), pipeline.Fatal, "out of range"},
		{"not a gid", page(`{"id":"Customer/1"}`), pipeline.Fatal, "not a Shopify gid"},
		{"money float", page(`{"id":"gid://shopify/Customer/1","amountSpent":{"amount":"1e999","currencyCode":"USD"}}`), pipeline.Fatal, "exponent"},
		{"bad time", page(`{"id":"gid://shopify/Customer/1","updatedAt":"yesterday"}`), pipeline.Fatal, "yesterday"},
		{"nodes not a list", `{"data":{"customers":{"nodes":{"id":1}}}}`, pipeline.Fatal, "unexpected answer shape"},
		{"string errors", `{"errors":"[API] This action requires merchant approval for read_customers scope."}`, pipeline.Fatal, "read_customers"},
		{"access denied", `{"errors":[{"message":"Access denied for customers field.","extensions":{"code":"ACCESS_DENIED"}}]}`, pipeline.Fatal, "ACCESS_DENIED"},
		{"no data", `{"extensions":{}}`, pipeline.Retryable, "no data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, s, func(cfg *admin.Config) { cfg.MaxRetries = 1 })
			// A transport-level failure is asked twice (MaxRetries 1); an
			// answer without data is left to the pipeline's retry.
			s.Inject(shopifytest.Fault{Status: 200, Body: tc.body})
			if tc.class == pipeline.Retryable && tc.name != "no data" {
				s.Inject(shopifytest.Fault{Status: 200, Body: tc.body})
			}
			_, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10)
			if err == nil || pipeline.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (%v), want %v containing %q", err, pipeline.ClassOf(err), tc.class, tc.want)
			}
		})
	}

	// Unicode and the largest int64 survive exactly.
	c := newClient(t, s)
	s.Inject(shopifytest.Fault{Status: 200, Body: page(`{"id":"gid://shopify/Customer/9223372036854775807","firstName":"Zoë 🍮 \u674e","lastName":"O'Brien\u0000","tags":"a, b","numberOfOrders":"25001","updatedAt":"2026-01-02T03:04:05+01:00"}`)})
	p, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(t, p.Objects[0].Value)
	for _, want := range []string{`"id":9223372036854775807`, `"first_name":"Zoë 🍮 李"`, `"orders_count":25001`, `"tags":["a","b"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}

	// An answer above the size limit is refused without reading it all.
	c = newClient(t, s, func(cfg *admin.Config) { cfg.MaxResponseBytes = 1024 })
	s.Inject(shopifytest.Fault{Status: 200, Body: page(`{"id":"gid://shopify/Customer/1","note":"` + strings.Repeat("x", 4096) + `"}`)})
	if _, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 10); err == nil || !strings.Contains(err.Error(), "larger than 1024") {
		t.Fatalf("oversized answer: %v", err)
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 5, Products: 1, MaxAvailable: 100, RestoreRate: 1})
	defer s.Close()
	c := newClient(t, s)
	s.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.FetchPage(ctx, admin.KindCustomer, admin.Cursor{}, 5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestConcurrentCallersShareTheBucket(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 120, Orders: 60, Products: 30, Checkouts: 40, MaxAvailable: 400, RestoreRate: 2000})
	defer s.Close()
	c := newClient(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, len(admin.Kinds))
	for _, kind := range admin.Kinds {
		wg.Go(func() {
			n := 0
			_, err := c.Reconcile(context.Background(), kind, admin.Cursor{}, 10, func(p admin.Page) error {
				n += len(p.Objects)
				return nil
			})
			if err == nil && n != count(s, kind) {
				err = fmt.Errorf("%s: %d objects", kind, n)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every THROTTLED answer the simulator gave was seen and waited out
	// by the client (none turned into an error).
	if s.Stats().Throttled != c.Stats().Throttled {
		t.Fatalf("simulator throttled %d, client saw %d", s.Stats().Throttled, c.Stats().Throttled)
	}
}

func TestFallForwardIsLogged(t *testing.T) {
	s := shopifytest.New(shopifytest.Options{Customers: 1, Products: 1})
	defer s.Close()
	log, hook := logtest.NewNullLogger()
	c := newClient(t, s, func(cfg *admin.Config) { cfg.APIVersion = "2024-01"; cfg.Log = log })
	if c.APIVersion() != "2024-01" {
		t.Fatal("before any answer the pinned version is reported")
	}
	if _, err := c.FetchPage(context.Background(), admin.KindCustomer, admin.Cursor{}, 1); err != nil {
		t.Fatal(err)
	}
	if c.APIVersion() != "2025-10" {
		t.Fatalf("served version %q", c.APIVersion())
	}
	e := hook.LastEntry()
	if e == nil || e.Level != logrus.WarnLevel || e.Data["served"] != "2025-10" || e.Data["shop"] != s.Shop() {
		t.Fatalf("no fall-forward warning: %+v", e)
	}
	for _, e := range hook.AllEntries() {
		if s, _ := e.String(); strings.Contains(s, "shpat_") {
			t.Fatal("the token was logged")
		}
	}
}

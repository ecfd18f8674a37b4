package brevo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func mkEvents(n int, propBytes int) []brevo.Event {
	out := make([]brevo.Event, n)
	for i := range out {
		out[i] = brevo.Event{
			Name:              "product_viewed",
			Identifiers:       brevo.Identifiers{EmailID: fmt.Sprintf("v%d@example.com", i), ExtID: fmt.Sprint(i)},
			Date:              time.Date(2026, 11, 27, 10, 0, i%60, 0, time.UTC),
			ContactProperties: map[string]any{"FIRSTNAME": "Łukasz"},
			EventProperties: map[string]any{
				"product_id": fmt.Sprint(9000 + i), "price": 19.99, "in_stock": true,
				"title": "Tシャツ — size M", "blob": strings.Repeat("x", propBytes),
				"variant": map[string]any{"id": i, "options": []string{"red", "M"}},
			},
		}
	}
	return out
}

func TestSendEventStoresEverything(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	e := mkEvents(1, 10)[0]
	if err := c.SendEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got := srv.Events()
	if len(got) != 1 || got[0].Name != "product_viewed" || got[0].Batch ||
		got[0].Identifiers["ext_id"] != "0" || got[0].EventProperties["title"] != "Tシャツ — size M" ||
		got[0].Date != "2026-11-27T10:00:00Z" {
		t.Fatalf("stored = %+v", got)
	}
}

func TestOversizedEventPropertiesAreRejectedBeforeSending(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	e := mkEvents(1, brevo.MaxEventPropsBytes)[0]
	err := c.SendEvent(context.Background(), e)
	wantClass(t, err, pipeline.Rejected, brevo.CodeEventTooLarge)
	if !strings.Contains(err.Error(), "50 KB") {
		t.Fatalf("reason unclear: %v", err)
	}
	if n := srv.RequestCount("POST /events"); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestInvalidEventsAreRejectedBeforeSending(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	for _, e := range []brevo.Event{
		{Name: "has space", Identifiers: brevo.Identifiers{EmailID: "a@example.com"}},
		{Name: strings.Repeat("n", 256), Identifiers: brevo.Identifiers{EmailID: "a@example.com"}},
		{Name: "ok"},
	} {
		wantClass(t, c.SendEvent(context.Background(), e), pipeline.Rejected, brevo.CodeInvalidEvent)
	}
	if n := srv.RequestCount("POST /events"); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestEventBatchSplitsAt200(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	if err := c.SendEvents(context.Background(), mkEvents(201, 10)); err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestCount("POST /events/batch"); n != 2 {
		t.Fatalf("%d batch calls, want 2", n)
	}
	if n := len(srv.Events()); n != 201 {
		t.Fatalf("%d events stored", n)
	}
}

func TestEventBatchSplitsAt512KB(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	events := mkEvents(60, 15_000) // ≈ 900 KB in all, 60 events: only the byte limit splits
	bodies, err := c.EncodeEventBatch(events)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) < 2 {
		t.Fatalf("%d bodies, want a split", len(bodies))
	}
	for i, b := range bodies {
		if len(b) > brevo.MaxEventBatchBytes {
			t.Fatalf("body %d is %d bytes", i, len(b))
		}
	}
	if err := c.SendEvents(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestCount("POST /events/batch"); n != len(bodies) {
		t.Fatalf("%d calls, want %d", n, len(bodies))
	}
	if n := len(srv.Events()); n != 60 {
		t.Fatalf("%d events stored", n)
	}
}

func TestEventBatchPartialSuccessMapsPerEvent(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	events := mkEvents(6, 10)
	events[1].Identifiers.EmailID = "broken@"                    // Brevo refuses: 207
	events[3].EventProperties["bad key"] = 1                     // Brevo refuses: 207
	events[4].EventProperties["blob"] = strings.Repeat("y", 6e4) // we refuse: never sent
	err := c.SendEvents(context.Background(), events)
	errs := batchErrs(t, err, 6)
	for i, e := range errs {
		switch i {
		case 1, 3:
			wantClass(t, e, pipeline.Rejected, brevo.CodeBatchEventFailed)
		case 4:
			wantClass(t, e, pipeline.Rejected, brevo.CodeEventTooLarge)
		default:
			if e != nil {
				t.Fatalf("event %d: %v", i, e)
			}
		}
	}
	if !strings.Contains(errs[1].Error(), "email_id") || !strings.Contains(errs[3].Error(), "bad key") {
		t.Fatalf("Brevo's reasons lost: %v / %v", errs[1], errs[3])
	}
	if n := len(srv.Events()); n != 3 {
		t.Fatalf("%d events stored, want 3", n)
	}
	if srv.StatusCount(207) != 1 {
		t.Fatal("simulator did not answer 207")
	}
}

func TestEventBatchAllRefusedMapsPerEvent(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	events := mkEvents(3, 10)
	for i := range events {
		events[i].Identifiers = brevo.Identifiers{EmailID: "nope"}
	}
	for i, e := range batchErrs(t, c.SendEvents(context.Background(), events), 3) {
		if pipeline.ClassOf(e) != pipeline.Rejected {
			t.Fatalf("event %d: %v", i, e)
		}
	}
}

func TestEventBatchStopsAfterRetryableFailure(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	srv.FailNext(1, 503)
	err := c.SendEvents(context.Background(), mkEvents(250, 10))
	// Nothing was delivered and every event shares the one error.
	wantClass(t, err, pipeline.Retryable, "")
	if n := srv.RequestCount("POST /events/batch"); n != 1 {
		t.Fatalf("%d calls after a 503, want 1", n)
	}
}

func TestEventBatchSecondChunkFailsPartially(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{EndpointLimits: map[string]brevotest.Limit{
		"POST /events/batch": {Requests: 1, Per: time.Minute},
	}})
	errs := batchErrs(t, c.SendEvents(context.Background(), mkEvents(250, 10)), 250)
	if errs[0] != nil || errs[199] != nil {
		t.Fatal("first chunk should be delivered")
	}
	wantClass(t, errs[200], pipeline.Retryable, "")
	if _, ok := brevo.RetryAfter(errs[249]); !ok {
		t.Fatal("no wait on the throttled events")
	}
	if n := len(srv.Events()); n != 200 {
		t.Fatalf("%d stored", n)
	}
}

func TestEventBatchFatal(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	srv.RevokeKey()
	wantClass(t, c.SendEvents(context.Background(), mkEvents(5, 10)), pipeline.Fatal, "")
}

func BenchmarkEncodeEventBatch200(b *testing.B) {
	c, err := brevo.New(brevo.Config{APIKey: "bench-key-000000", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	events := mkEvents(200, 200)
	bodies, _ := c.EncodeEventBatch(events)
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.EncodeEventBatch(events); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEventContactPropertiesUpdateTheContact(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	srv.PutContact(brevotest.Contact{Email: "v0@example.com", ExtID: "0"})
	if err := c.SendEvents(context.Background(), mkEvents(2, 10)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Contact("v0@example.com").Attributes["FIRSTNAME"]; got != "Łukasz" {
		t.Fatalf("FIRSTNAME = %v", got)
	}
}

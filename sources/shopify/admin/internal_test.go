package admin

import (
	"context"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Fri, 27 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Fri, 27 Nov 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestOperationName(t *testing.T) {
	for q, want := range map[string]string{
		QueryCustomersPage: "CustomersPage", MutationBulkRun: "BulkRun", QueryCurrentBulk: "CurrentBulk", "{ shop { id } }": "query",
	} {
		if got := operationName(q); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func TestBucketWaitsForRefill(t *testing.T) {
	var b bucket
	if err := b.wait(context.Background(), 500); err != nil || b.waited() != 0 {
		t.Fatal("an unknown bucket must not wait")
	}
	b.observe(Cost{ThrottleStatus: ThrottleStatus{MaximumAvailable: 100, CurrentlyAvailable: 10, RestoreRate: 1000}})
	start := time.Now()
	if err := b.wait(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	// 51 points (60 + margin − 10) at 1000/s.
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("waited %v", d)
	}
	// The reservation is spent: the next 60 must wait again.
	before := b.waited()
	_ = b.wait(context.Background(), 60)
	if b.waited() <= before {
		t.Fatal("a second query was sent on the same points")
	}
	// A cost above the bucket waits for a full bucket, not forever.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := b.wait(ctx, 5000); err != nil {
		t.Fatalf("cost above the bucket: %v", err)
	}
}

package backoff

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

const ms = time.Millisecond

// Without jitter the waits are exactly initial·multiplier^(n-1), capped.
func TestDelaysGrowAndAreCapped(t *testing.T) {
	cases := []struct {
		name string
		p    Policy
		want []time.Duration // before retry 1, 2, …
	}{
		{"×3 capped at 1s", Policy{Initial: 100 * ms, Max: time.Second, Multiplier: 3},
			[]time.Duration{100 * ms, 300 * ms, 900 * ms, time.Second, time.Second}},
		{"×2 capped at 30s", Policy{Initial: 250 * ms, Max: 30 * time.Second, Multiplier: 2},
			[]time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second}},
		{"uncapped", Policy{Initial: 100 * ms, Multiplier: 2},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"multiplier below 1 is constant", Policy{Initial: 50 * ms, Max: time.Second, Multiplier: 0.5},
			[]time.Duration{50 * ms, 50 * ms, 50 * ms}},
		{"no initial never waits", Policy{Max: time.Second, Multiplier: 2},
			[]time.Duration{0, 0, 0}},
	}
	for _, tc := range cases {
		for i, w := range tc.want {
			if got := tc.p.Delay(i + 1); got != w {
				t.Errorf("%s: wait before retry %d is %s, want %s", tc.name, i+1, got, w)
			}
		}
	}
	// Far attempts neither overflow nor go negative.
	for _, p := range []Policy{{Initial: time.Second, Max: time.Minute, Multiplier: 2}, {Initial: time.Second, Multiplier: 10, Jitter: 0.5}} {
		for _, n := range []int{64, 1000, 1 << 30} {
			if d := p.Delay(n); d <= 0 || (p.Max > 0 && d > p.Max) {
				t.Errorf("%+v: wait before retry %d is %s", p, n, d)
			}
		}
	}
	if d := (Policy{Initial: 10 * ms, Multiplier: 2}).Delay(0); d != 10*ms {
		t.Errorf("attempt 0 waits %s, want the first wait 10ms", d)
	}
}

// Jitter stays within its bounds and uses them: 2000 draws reach the outer
// tenths of the range at both ends.
func TestJitterIsBounded(t *testing.T) {
	cases := []struct {
		name   string
		p      Policy
		lo, hi time.Duration
	}{
		{"±50%", Policy{Initial: 100 * ms, Max: time.Second, Multiplier: 3, Jitter: 0.5}, 50 * ms, 150 * ms},
		{"±20%", Policy{Initial: 100 * ms, Max: time.Second, Multiplier: 2, Jitter: 0.2}, 80 * ms, 120 * ms},
		{"jitter above 1 is 1", Policy{Initial: 100 * ms, Jitter: 7}, 0, 200 * ms},
		{"full jitter", Policy{Initial: 100 * ms, Max: time.Second, Jitter: 0.2, FullJitter: true}, 1, 100 * ms},
	}
	for _, tc := range cases {
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 2000 {
			d := tc.p.Delay(1)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("%s: a first wait of %s, outside %s..%s", tc.name, d, tc.lo, tc.hi)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		tenth := (tc.hi - tc.lo) / 10
		if lo > tc.lo+tenth || hi < tc.hi-tenth {
			t.Errorf("%s: first waits span %s..%s, want about %s..%s", tc.name, lo, hi, tc.lo, tc.hi)
		}
	}
	// The cap applies before jitter, so a capped wait still spreads.
	p := Policy{Initial: time.Second, Max: 2 * time.Second, Multiplier: 2, Jitter: 0.2}
	for range 200 {
		if d := p.Delay(10); d < 1600*ms || d > 2400*ms {
			t.Fatalf("capped at 2s ±20%%: %s", d)
		}
	}
}

type serverErr struct{ after time.Duration }

func (e serverErr) Error() string             { return "429" }
func (e serverErr) RetryAfter() time.Duration { return e.after }

// A wait the server asked for is a floor: longer than the backoff it
// wins, shorter it does not shorten the backoff.
func TestServerWaitIsAFloor(t *testing.T) {
	p := Policy{Initial: 100 * ms, Max: time.Second, Multiplier: 2}
	cases := []struct {
		name    string
		attempt int
		err     error
		want    time.Duration
	}{
		{"no server wait", 2, errors.New("503"), 200 * ms},
		{"longer than the backoff", 1, serverErr{3 * time.Second}, 3 * time.Second},
		{"beyond max", 5, serverErr{time.Minute}, time.Minute},
		{"shorter than the backoff", 3, serverErr{10 * ms}, 400 * ms},
		{"wrapped", 1, fmt.Errorf("brevo: %w", serverErr{2 * time.Second}), 2 * time.Second},
		{"negative is none", 1, serverErr{-time.Second}, 100 * ms},
		{"nil error", 1, nil, 100 * ms},
	}
	for _, tc := range cases {
		if got := p.Wait(tc.attempt, ServerWait(tc.err)); got != tc.want {
			t.Errorf("%s: wait %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestMaxAttempts(t *testing.T) {
	cases := []struct {
		max, failed int
		want        bool
	}{{0, 1000, false}, {3, 2, false}, {3, 3, true}, {1, 1, true}}
	for _, tc := range cases {
		if got := (Policy{MaxAttempts: tc.max}).Exhausted(tc.failed); got != tc.want {
			t.Errorf("max_attempts %d after %d failures: exhausted %v, want %v", tc.max, tc.failed, got, tc.want)
		}
	}
}

// A cancelled context ends a wait at once and says so; an uncancelled
// one lets it elapse.
func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * ms); cancel() }()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("an hour's wait cancelled after 20ms: %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("cancelled wait took %s", took)
	}
	if err := Sleep(ctx, 0); err == nil {
		t.Error("a zero wait on a done context reports nil, want its error")
	}
	start = time.Now()
	if err := Sleep(context.Background(), 15*ms); err != nil || time.Since(start) < 15*ms {
		t.Errorf("a 15ms wait: %v after %s", err, time.Since(start))
	}
}

package backoff

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff: the wait before retry n (1-based) is
// Initial·Multiplier^(n-1), capped at Max, then spread by jitter.
type Policy struct {
	Initial time.Duration
	// Max caps the wait before jitter; 0 leaves it uncapped (a caller
	// that bounds the attempts instead).
	Max time.Duration
	// Multiplier grows the wait after each failure; below 1 it is 1 (a
	// constant wait).
	Multiplier float64
	// Jitter spreads each wait uniformly by ±Jitter of itself (0.2 is
	// ±20%), so clients that failed together do not retry in step.
	// Values outside 0..1 are clamped.
	Jitter float64
	// FullJitter draws each wait uniformly from (0, wait] instead ("full
	// jitter"): the spread that thins a thundering herd the most, for
	// retries against a shared server quota. Jitter is then ignored.
	FullJitter bool
	// MaxAttempts is how many attempts may fail before the caller gives
	// up (Exhausted); 0 never gives up.
	MaxAttempts int
}

// maxWait bounds every wait so that float arithmetic can never overflow a
// Duration, even uncapped after many attempts (~292 years).
const maxWait = time.Duration(math.MaxInt64)

// Delay is the wait before retry number attempt (1-based), jitter
// included. An attempt below 1 counts as 1.
func (p Policy) Delay(attempt int) time.Duration {
	attempt = max(attempt, 1)
	d := float64(p.Initial) * math.Pow(max(p.Multiplier, 1), float64(attempt-1))
	if p.Max > 0 && d > float64(p.Max) {
		d = float64(p.Max)
	}
	if d >= float64(maxWait) || math.IsNaN(d) {
		d = float64(maxWait)
	}
	if d <= 0 {
		return 0
	}
	switch j := min(max(p.Jitter, 0), 1); {
	case p.FullJitter:
		return time.Duration(rand.Int64N(int64(d))) + 1
	case j > 0:
		d *= 1 + j*(2*rand.Float64()-1)
		if d >= float64(maxWait) {
			return maxWait
		}
	}
	return time.Duration(d)
}

// Wait is Delay(attempt), or server when the server asked for longer: a
// server-given wait is a floor.
func (p Policy) Wait(attempt int, server time.Duration) time.Duration {
	return max(p.Delay(attempt), server)
}

// Exhausted reports whether a caller that has seen failed attempts
// should give up rather than wait and try again.
func (p Policy) Exhausted(failed int) bool {
	return p.MaxAttempts > 0 && failed >= p.MaxAttempts
}

// RetryAfter is implemented by errors that know how long the server asked
// to wait (a 429 with a reset header, a 503 with Retry-After).
type RetryAfter interface {
	RetryAfter() time.Duration
}

// ServerWait is the wait the first RetryAfter in err's chain asks for, or
// 0 when none does.
func ServerWait(err error) time.Duration {
	var ra RetryAfter
	if errors.As(err, &ra) {
		return max(ra.RetryAfter(), 0)
	}
	return 0
}

// Sleep waits for d or until ctx is done, whichever comes first; it
// returns ctx.Err() when the wait was cut short, nil when it elapsed. A
// d of 0 or less does not wait but still reports a done ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

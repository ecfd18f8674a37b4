package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// backoff returns the wait before retry number attempt (1-based):
// initial·multiplier^(attempt-1), capped at max, spread by ±jitter.
func backoff(r config.Retry, attempt int) time.Duration {
	d := float64(r.Initial) * math.Pow(r.Multiplier, float64(attempt-1))
	if d > float64(r.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(r.Max)
	}
	if r.Jitter > 0 {
		d *= 1 + r.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// sleep waits for d or until ctx is done; it reports whether the full wait
// elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// RetryAfter is implemented by retryable errors that know how long to wait
// (a 429 with a reset header); the engine waits at least that long.
type RetryAfter interface {
	RetryAfter() time.Duration
}

package pipeline

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sirupsen/logrus"

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

// retryWait is the wait before retry number attempt of err: the backoff,
// or longer when err knows how long (RetryAfter); and the level of its log
// line: warn on the first and every tenth attempt, debug in between, so a
// long outage is visible without a line per retry.
func retryWait(r config.Retry, attempt int, err error) (time.Duration, logrus.Level) {
	wait := backoff(r, attempt)
	var ra RetryAfter
	if errors.As(err, &ra) && ra.RetryAfter() > wait {
		wait = ra.RetryAfter()
	}
	lvl := logrus.DebugLevel
	if attempt == 1 || attempt%10 == 0 {
		lvl = logrus.WarnLevel
	}
	return wait, lvl
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

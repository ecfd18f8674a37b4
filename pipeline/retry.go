package pipeline

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	// Imported under another name: this package's backoff is the
	// function below that pipeline.retry's tests and inputs call.
	retrypolicy "github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/config"
)

// policy is pipeline.retry as a backoff policy.
func policy(r config.Retry) retrypolicy.Policy {
	return retrypolicy.Policy{Initial: r.Initial, Max: r.Max, Multiplier: r.Multiplier, Jitter: r.Jitter, MaxAttempts: r.MaxAttempts}
}

// backoff returns the wait before retry number attempt (1-based):
// initial·multiplier^(attempt-1), capped at max, spread by ±jitter.
func backoff(r config.Retry, attempt int) time.Duration {
	return policy(r).Delay(attempt)
}

// retryWait is the wait before retry number attempt of err: the backoff,
// or longer when err knows how long (RetryAfter); and the level of its log
// line: warn on the first and every tenth attempt, debug in between, so a
// long outage is visible without a line per retry.
func retryWait(r config.Retry, attempt int, err error) (time.Duration, logrus.Level) {
	wait := policy(r).Wait(attempt, retrypolicy.ServerWait(err))
	lvl := logrus.DebugLevel
	if attempt == 1 || attempt%10 == 0 {
		lvl = logrus.WarnLevel
	}
	return wait, lvl
}

// sleep waits for d or until ctx is done; it reports whether the full wait
// elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	return retrypolicy.Sleep(ctx, d) == nil
}

// RetryAfter is implemented by retryable errors that know how long to wait
// (a 429 with a reset header); the engine waits at least that long.
type RetryAfter = retrypolicy.RetryAfter

// Package backoff is the one place tajo computes how long to wait before
// retrying: the engine's pipeline.retry, the Brevo transport's 5xx
// retries, the Shopify Admin client and syncer, and the plugin host's
// restarts all describe their waits as a Policy and sleep with Sleep.
//
// A Policy is stateless: the wait before retry n depends only on n, so a
// caller keeps its own attempt counter (and resets it when its notion of
// "the failure cleared" says so), and the same Policy value is safe to
// share between goroutines.
//
// A server that says how long to wait (Retry-After, Brevo's
// x-sib-ratelimit-reset, a reset carried by an error as RetryAfter) is a
// floor, never a ceiling: Wait returns the longer of the backoff and the
// server's wait, so retrying never comes back sooner than asked.
//
// cenkalti/backoff was considered and not used: its ExponentialBackOff is
// a stateful iterator (the callers here need the wait for attempt n, and
// pipeline.retry's tests state it that way), it has no full-jitter mode
// (the Shopify client's), and its Retry loop stops after 15 minutes by
// default where tajo's engine retries until the failure clears.
package backoff

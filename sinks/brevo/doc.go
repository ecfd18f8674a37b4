// Package brevo is a typed client for the parts of the Brevo API v3 that
// tajo writes to: contacts (upsert, get, update, delete, async import),
// contact attributes, list membership, custom events, and e-commerce
// products, categories and orders, and the pipeline sink `sinks.brevo` built
// on it (sink*.go: records → calls, by the rules table of mapping.go; what
// lands where is in README.md). Under the client, Discipline (transport.go)
// keeps every endpoint group within Brevo's rate and an adaptive
// concurrency limit.
//
// No Brevo SDK is available, so this is plain net/http. What it
// enforces for the rest of tajo:
//
//   - Every failure it returns is classified with the pipeline error classes
//     (see pipeline/errors.go), because a 401 treated as a per-record
//     rejection silently loses data: 401/403 and account-wide codes are Fatal,
//     per-record refusals (400/404/413/422) are Rejected with Brevo's code, and
//     429, 5xx, timeouts and connection errors are Retryable. RetryAfter
//     extracts the wait a 429 asked for (x-sib-ratelimit-reset).
//   - Brevo's documented request limits (150 contacts per list call, 200
//     events or 512 KB per event batch, 100 products, 1000 orders, the import
//     body size) are applied here by splitting, so callers can pass any number
//     of items; an item that can never fit is rejected before it is sent.
//   - The API key never appears in errors or logs; at most its last four
//     characters do (KeyHint). It is a config.Secret in SinkConfig and
//     Config, revealed once, by New. It never follows a redirect to another host
//     (pipeline/redirect), and base_url is https unless it is a loopback address.
//   - Custom events, the one Brevo call that is not idempotent, are sent
//     once per event id across restarts: the sink records each request's
//     events in the state store as in flight before it leaves and as sent
//     once Brevo answered (sent.go, invariant 2), and resolves what a crash
//     or a lost answer left in doubt with GET /v3/events before any resend
//     (doubt.go).
//
// The consent precedence policy that decides blocklist flags and email
// changes is in consent.go, as a pure function. An in-memory simulator of the
// same endpoints for tests and demos is in package brevotest.
package brevo

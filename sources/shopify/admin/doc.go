// Package admin is the Shopify Admin GraphQL API client of the Shopify
// source: full backfill through bulk operations and incremental
// reconciliation through cursor pagination, both producing the canonical
// schemas objects (Customer, Order with line items, Product with variants
// and images, abandoned Checkout).
//
// It enforces, for reads from Shopify:
//
//   - Cost-based throttling. Every answer's extensions.cost updates a local
//     view of the shop's leaky bucket; a query whose expected cost exceeds
//     what is available waits for the refill instead of being sent to fail,
//     and a THROTTLED answer (another app spent the bucket) is waited out
//     and retried. 429 and 5xx are retried with exponential backoff and
//     jitter, honouring Retry-After.
//   - Error classes for the pipeline (invariant 4): a refused access token
//     (401/403), a missing scope or a broken query stops the pipeline
//     (pipeline.Stop) with a message naming the shop; what may pass with
//     time is pipeline.Retry. The token is never logged, never put in an
//     error, and never sent to bulk result URLs (signed storage URLs).
//   - Bounded memory (invariant 5). Bulk results are streamed line by line
//     (bufio.Scanner with a line limit) and parent/child lines reassembled
//     holding only the current object, relying on Shopify writing children
//     after their parent; pages hold at most one page.
//   - Persist before ack (invariant 1). Reconciliation returns, with each
//     page, the Cursor to persist before the page's objects are acked;
//     resuming from it neither skips objects nor, except for ties on the
//     last timestamp, repeats them. DownloadBulk resumes a result file
//     after a persisted object count.
//
// Ids are parsed from GIDs into exact int64s (never through float64) and
// money stays decimal. The API version is pinned (DefaultAPIVersion) and a
// fall-forward is logged.
package admin

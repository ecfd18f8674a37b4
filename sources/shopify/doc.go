// Package shopify is the Shopify source connector: webhook verification,
// the registry of supported topics, normalization of Shopify payloads
// into tajo.event.v1 envelopes carrying canonical schemas objects, and the
// connector itself, a plugin (`tajo plugin shopify`, registered as
// connectors.shopify) that serves every configured store on one webhook
// endpoint and streams each store's backfill and reconciliation.
//
// The plugin enforces invariant 1 with the host: a webhook's event is
// returned to the host, which answers Shopify only once the event is on
// Kafka; the delivery's X-Shopify-Webhook-Id enters the durable dedupe
// window (state_dir/webhooks.db) only when the host reports that answer
// was a 2xx, so a retry of a delivery answered 503 is never taken for a
// duplicate. Backfill (bulk operations) and reconciliation (cursor
// pagination by updated_at) attach every store's cursors to the last
// record of each batch; the host persists that position before acking and
// hands it back to Open, so a restart resumes inside a bulk result file
// or a reconciliation run. Each store has its own Admin API client (its
// own cost bucket) and goroutine: a failing store does not stall another.
//
// It enforces, for webhooks, part of invariant 4 (bad input is answered):
// every failure is classed by a sentinel so the ingress can answer without
// guessing: ErrUnauthorized → 401 (the HMAC did not verify against the
// current or previous secret), ErrMalformed → 400 (missing headers, a shop
// domain that is not *.myshopify.com, a body that is not the payload the
// topic promises), ErrUnsupportedTopic → acknowledge and record (a 4xx
// would make Shopify retry a delivery tajo will never use, then drop the
// subscription), ErrNoSecret → 500 (our configuration, not the delivery,
// is at fault). HTTPStatus maps them. And part of invariant 6: HMACs are
// compared in constant time and secrets never appear in errors.
//
// Normalization is deterministic: the same delivery always yields the same
// event id, so Shopify's at-least-once redeliveries are harmless downstream.
// Ids are decoded as int64 (never float64: they exceed 2^53) and money as
// decimals.
package shopify

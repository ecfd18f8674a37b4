// Package shopify is the Shopify source connector: webhook verification,
// the registry of supported topics, and normalization of Shopify payloads
// into tajo.event.v1 envelopes carrying canonical schemas objects.
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

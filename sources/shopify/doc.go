// Package shopify is the Shopify source connector: webhook verification,
// the registry of supported topics, normalization of Shopify payloads
// into tajo.event.v1 envelopes carrying canonical schemas objects, and the
// connector itself, a plugin (`tajo plugin shopify`, registered as
// connectors.shopify) that serves every configured store on one webhook
// endpoint and streams each store's backfill and reconciliation.
//
// The plugin enforces invariant 1 with the host: a webhook's event is
// returned to the host, which answers Shopify only once the event is on
// Kafka. The plugin names each delivery for the host (Spec.Dedupe:
// X-Shopify-Webhook-Id per shop, kept dedupe_window), which keeps the
// durable window in its state and lets a delivery in only once it
// answered it 2xx, so a retry of a delivery answered 503 is never taken
// for a duplicate; copies of a delivery answered 2xx never reach the
// plugin. Backfill (bulk operations) and reconciliation (cursor
// pagination by updated_at) attach every store's cursors to the last
// record of each batch; the host persists that position before acking and
// hands it back to Open, so a restart resumes inside a bulk result file
// or a reconciliation run. Each store has its own Admin API client (its
// own cost bucket) and goroutine: a failing store does not stall another.
//
// It enforces, for webhooks, invariant 7 (no authenticated delivery
// vanishes) and part of invariant 4: a bad or missing signature, or one no
// secret can judge, is a 401 (declared to the host in Spec.Signing, so the
// host refuses it before reading the body); a signed body that is not JSON
// is the only 400 (ErrMalformed); every other signed delivery is answered
// 200 once its event is on Kafka. Normalization is lenient (lenient.go):
// what does not parse is left out and named in Event.Problems. What cannot
// become a canonical event at all (no entity id, a topic tajo does not
// know, JSON that is not an object, a shop not configured, missing
// headers, a destructive topic whose body does not fit it: destructive.go;
// a customers/delete whose customer the store's Admin API still has, when
// it has an access token: confirm.go) is a
// schemas.TypeDeliveryUnprocessable event with the raw body, headers and
// reason, for the error history and `tajo replay`. And part of
// invariant 6: HMACs are compared in constant time and secrets never
// appear in errors; a bulk result's signed URL never appears in one. The
// config's secrets are config.Secret, masked however the config is
// printed; Config.PluginJSON alone reveals them, for the plugin.
//
// Invariant 9 for its keys: an api_version Shopify no longer serves is
// refused, one near its end warned about (apiversion.go, the table of end
// dates; tajo connectors test says the same); the inventory alert keys
// warn that nothing acts on them yet; debug and log_level raise the host's
// level for this connector's lines (Config.ConnectorLogLevel); api_key,
// the app's client id, is what tajo connectors test checks each token's
// app against (connection.go, appCheck).
//
// Normalization is deterministic: the same delivery always yields the same
// event id, so Shopify's at-least-once redeliveries are harmless downstream.
// Ids are decoded as int64 (never float64: they exceed 2^53) and money as
// decimals.
package shopify

// Package transforms is everything between the events topic and the sinks:
// which events go where, what each Brevo attribute is, and the
// per-customer state the computed attributes need.
//
// The chain (transforms.stages in pipeline.yaml; by default guard →
// aggregates → field_mapping) decodes each tajo.event.v1 envelope once into
// the canonical schemas types and keeps that in pipeline.Record.Cache for
// every later stage. Expressions (package expression, on
// github.com/expr-lang/expr) are compiled once, at load, against its typed
// Env, so a typo or a type error fails `tajo validate` with its YAML path
// and position, never a record.
//
// # Layout
//
// One file per stage type, with the config struct of its own keys
// (inlined in Stage) and its builder: guard.go (with freshness.go),
// aggregates.go (with profile.go and the RECENCY sweep, sweep.go),
// fieldmap.go (the field_mapping section and stage), map.go, filter.go,
// route.go, productfilter.go. config.go holds what they share: the
// transforms section, Stage and the table of stage types. chain.go builds
// the chain; item.go, envelope.go and encode.go are the record as the
// stages see it, environment.go its expression environment; testrun.go
// runs the tests: section.
//
// # Output
//
// The record stays a tajo.event.v1 envelope, byte for byte as the source
// wrote it (only product_filter may trim a product's variants and images,
// and the aggregates retype the customers/create of a customer tajo
// already knew to customer_updated), with up to three fields added by map
// stages:
//
//	"attributes":  {"FIRSTNAME":"Zoë","ORDER_COUNT":2,"TOTAL_SPENT":150.5,"LAST_ORDER_DATE":"2026-11-20"}
//	"identifiers": {"email":"zoe@example.com","ext_id":"706405506930370084","phone":"+33612345678"}
//	"consent":     {"email":"subscribed","sms":"unsubscribed"}
//
// Attribute values are strings, finite numbers (money keeps its decimal
// digits), booleans, lists of strings, and dates as "YYYY-MM-DD" in the
// shop's time zone. An attribute whose value is nil, "" or a zero date is
// left out, so Brevo keeps what it has. Consent is "subscribed",
// "unsubscribed" (an explicit opt-out: blocklist) or "pending"; an absent
// key is unknown and must not change the contact. Events no mapping
// applies to pass through unchanged.
//
// # Invariants enforced here
//
//   - Filtered and skipped events are handled (acked), never lost silently:
//     each skip is counted and returned as pipeline.Skip with its reason
//     (duplicate, stale, filtered, product_filter), which the engine writes
//     to the sync history as "skipped".
//   - A value Brevo would refuse (NaN, ±Inf, nested objects, invalid
//     UTF-8, an impossible phone) rejects the record with its reason.
//   - State (guard marks, aggregates) is in the engine's journal
//     (pipeline.Env.Journal), which the engine commits before any record
//     of the batch reaches a sink, so it survives kill -9; applying an
//     event twice changes nothing.
//   - Freshness is per source of an attribute (DESIGN.md invariant 3): the
//     guard orders updates by their object's own time, never the receive
//     time, and withholds the parts of an order's or checkout's customer
//     snapshot that a newer customer record set (freshness.go).
//   - Work without an event (the daily RECENCY sweep, sweep.go) is a
//     durable timer on the same state, driven by the engine through
//     Timed; its progress is saved only once its records are handled.
//   - No delivery vanishes here (invariant 7): an unprocessable delivery
//     (schemas.TypeDeliveryUnprocessable) is rejected with its reason, so
//     the engine keeps it with its envelope in the error history.
package transforms

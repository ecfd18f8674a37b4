// Package clickhouse is tajo's history store and the `clickhouse` sink: what
// happened to every event at every sink (sync_history), the dead letters
// (error_history), every webhook received (webhook_log), the amounts of
// orders, carts and checkouts (commerce_events) and how Shopify and Brevo
// answered tajo's credentials (connection_checks).
//
// The status (status.go) is where invariant 9's "the history never calls
// delivered a step that sent nothing" meets the merchant: skipped steps are
// counted apart, connected comes from the latest connection checks (never
// from ClickHouse answering), and the history's own copy of each event is
// not a step, so it neither counts an event twice nor halves the error
// rate.
//
// Two backends run the same DDL (schemas/clickhouse) and the same queries,
// chosen by sinks.clickhouse.dsn:
//
//   - chdb://<dir> (the default, chdb://clickhouse under data_dir) runs
//     ClickHouse in-process from libchdb.so, loaded on first use through
//     purego (no cgo). Like a server, it locks its directory: one process at
//     a time (see ErrLocked), one directory per process.
//   - clickhouse://user:pass@host:9000/db talks to a server over the native
//     protocol (clickhouse-go), from 18.16 to current releases.
//
// As history.sink it is out of the engine's fan-out: RecordHistory gets
// each record once, after the other sinks, with their outcomes, and writes
// its own sync_history row, the other sinks' rows and the commerce_events
// row from one decode of the envelope (Write, where it is an ordinary
// sink, is the same with no other outcomes).
//
// It enforces two invariants of DESIGN.md here. No loss: Write returns only
// after the rows are inserted, and a ClickHouse that is down or slow is
// Retryable, so the pipeline holds and Kafka keeps the backlog. Idempotent
// effects: every table is a ReplacingMergeTree keyed by event id (or the
// equivalent), and the status figures read through FINAL, so a redelivered
// event is never counted twice (FINAL folds within a partition, a month of
// ingested_at: a redelivery written in the next month stays a second row).
//
// Closed by default (invariant 8) is enforced here for the history: the
// report API (APIPath) is mounted on the control listener only, and SQL a
// person typed goes through ReadOnlyQuery, which refuses what is not one
// read of tajo's own tables (sqlguard.go) and runs the rest with readonly
// and bounded results.
//
// Retention (retention_days) drops whole months of ingested_at, the time a
// row was written, never by the event's own date; Migrate moves a store of
// an earlier layout there without loss (relayout.go).
//
// Only the writer's open (OpenConfig, `tajo run`) migrates, and it does so
// under a lease lock kept in ClickHouse itself (migratelock.go), so two
// tajos starting on one server never interleave a relayout. The CLI opens
// with OpenExisting, which creates and migrates nothing and refuses a store
// behind this tajo's schema with what to do (SchemaError).
package clickhouse

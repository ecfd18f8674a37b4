// Package chschema holds tajo's ClickHouse DDL as numbered migrations
// (NNNN_name.sql), embedded so the binary carries its schema.
//
// Every statement runs unchanged on ClickHouse 18.16 (Debian's
// clickhouse-server) and on current releases, including the embedded chDB:
// MergeTree family engines, PARTITION BY toYYYYMM(ingested_at) (the time
// tajo wrote the row, not the event's) so retention is a partition drop,
// DateTime('UTC') so text formats never depend on the server's time zone,
// and none of TTL, DateTime64, Map, CODEC or LowCardinality; every INSERT
// names its columns.
//
// Migrations only ever add: a released file is never edited, a change is a
// new file. A change of layout that ALTER cannot make on 18.16 (a new
// partition key) is a relayout: a statement creating "<table>_new", which
// the migrator fills from <table> and swaps in (see RelayoutTarget).
package chschema

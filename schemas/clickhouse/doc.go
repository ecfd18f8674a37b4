// Package chschema holds tajo's ClickHouse DDL as numbered migrations
// (NNNN_name.sql), embedded so the binary carries its schema.
//
// Every statement runs unchanged on ClickHouse 18.16 (Debian's
// clickhouse-server) and on current releases, including the embedded chDB:
// MergeTree family engines, PARTITION BY toYYYYMM(ts) so retention is a
// partition drop, DateTime('UTC') so text formats never depend on the
// server's time zone, and none of TTL, DateTime64, Map, CODEC or
// LowCardinality. Migrations only ever add: a released file is never edited,
// a change is a new file.
package chschema

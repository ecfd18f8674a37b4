// Package chtest runs a throwaway ClickHouse server for tests: Debian's
// clickhouse-server (18.16, what CI installs) or any newer clickhouse
// binary, as a child process on a free loopback port with its own config
// and data directory, so tests never touch a system server.
//
// It also decides whether a missing server or chDB library skips a test or
// fails it: with TAJO_REQUIRE_CLICKHOUSE=1 (make test, CI) it fails.
package chtest

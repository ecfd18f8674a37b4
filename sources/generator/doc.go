// Package generator is a source of deterministic synthetic events, for
// tests, replays, benchmarks and the first `make run`.
//
// Event number n always has the same id, shop, type and body for a given
// seed, so a consumer can check that every generated event arrived. Its
// position (the next number to generate) is persisted in the state store
// when acked, so a restart resumes after the last event durably on Kafka.
package generator

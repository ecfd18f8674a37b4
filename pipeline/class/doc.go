// Package class is the one classification of failures tajo acts on:
// Retryable (wait and try again), Rejected (this record can never pass:
// dead-letter it and go on) and Fatal (stop with a clear message). It is a
// leaf, imported by the engine (package pipeline re-exports it under its
// old names) and by the packages the engine itself imports, such as
// pipeline/kafka, so that a Kafka produce failure carries the engine's own
// class instead of a mirror of it.
//
// An error without a class is Retryable: retrying is the only choice that
// cannot lose data (DESIGN.md invariant 1).
package class

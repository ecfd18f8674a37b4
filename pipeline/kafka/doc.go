// Package kafka is tajo's Kafka I/O on segmentio/kafka-go: connection
// settings (TLS, SASL) for an external cluster or the embedded broker,
// topic creation, and the writer and group reader configured the way
// DESIGN.md decides: RequiredAcks all, a short batch timeout and a hash
// balancer on the key for writers; FetchMessage plus explicit commits, never
// auto-commit, for readers.
package kafka

// Package kafka is tajo's Kafka I/O on segmentio/kafka-go: connection
// settings (TLS, SASL) for an external cluster or the embedded broker,
// topic creation, the producer and the group reader configured the way
// DESIGN.md decides: RequiredAcks all, a batch timeout of 1 ms by default
// (the engine hands the writer whole batches: its linger is only latency)
// and a hash balancer on the key for writes; FetchMessage plus explicit commits,
// never auto-commit, for reads.
//
// It holds the produce half of invariant 7: writes respect the broker's
// message size. The Producer reads the topic's limit from the broker
// (DescribeConfigs), splits batches below it, sends a record too large for
// a batch alone (compressed, it may still fit) and reports per record what
// failed and why (Classify): a record the broker can never take is
// Rejected with a stable code, its size and the limit, never retried
// forever; leader changes, timeouts and the network are Retryable;
// authentication, authorization and unsupported settings are Fatal.
// Topics tajo creates get TopicMaxMessageBytes and a bounded retention.
package kafka

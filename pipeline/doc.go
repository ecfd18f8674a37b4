// Package pipeline is the engine of tajo: the stage interfaces (Source,
// Transform, Sink), the runner that wires them from pipeline.yaml, the ack
// tracker, retries with backoff, and the dead-letter path. It holds no
// Shopify- or Brevo-specific code.
//
// It is the one place that enforces invariant 1 (no loss): a Kafka offset is
// committed only when every sink, or the dead-letter path, has durably
// handled that record and every record before it in its partition; a source
// position is acked only after the record is durably on Kafka (or, with
// `broker: none`, durably handled by every sink).
package pipeline

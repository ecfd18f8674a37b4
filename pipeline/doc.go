// Package pipeline is the engine of tajo: the stage interfaces (Source,
// Transform, Sink), the runner that wires them from pipeline.yaml, the ack
// tracker, retries with backoff, and the dead-letter path. It holds no
// Shopify- or Brevo-specific code.
//
// It is the one place that enforces invariant 1 (no loss): a Kafka offset is
// committed only when every sink, or the dead-letter path, has durably
// handled that record and every record before it in its partition; a source
// position is acked only after the record is durably on Kafka (or, with
// `broker: none`, durably handled by every sink). The history sink
// (history.sink, history.go) counts as one: it gets each record once, after
// every other sink, with their outcomes, and the record is released only
// once that is stored.
//
// The same holds for stage state: the runner opens the one state journal
// (state.Journal, data_dir/state.journal in front of state.db) and hands it
// to every component in Env.Journal (sources keep their positions there:
// Env.Positions); stages only read and write its keys,
// and the chain's last stage (JournalStage) commits it once per batch,
// before any record of the batch reaches a sink. It is closed (its last
// checkpoint) after every flow stopped.
//
// A record is decoded once (Record.Event): the chain's first stage decodes
// it, on the goroutine that takes records in when it is a Predecoder, and
// every later stage and sink reads that event; a stage that changes it
// drops Value, and the bytes are written again only at a boundary that
// needs them (Record.Bytes: the file sink, a Kafka topic, a dead letter).
// A PipelinedSink gets several batches at once (numbered by BatchSeq), so
// it can merge them into its requests while it waits on its service.
// In-flight records are bounded by count and by bytes
// (pipeline.max_in_flight, max_in_flight_bytes).
//
// An ingest flow (a source or a timer to the events topic) hands the
// producer what its input has ready at once, up to pipeline.batch_size,
// instead of waiting pipeline.batch_wait to fill a batch: a webhook is
// answered only once its record is on Kafka, and concurrent webhooks fill
// a batch while the previous one is being written.
//
// Work due at a time rather than on an event runs on durable timers
// (timers.go): a transform that implements Timed keeps its schedule and
// progress in the state store, and the runner drives it on its Clock
// (WithClock): it sleeps until NextRun, takes a Tick's records into a flow
// as a source's (their own ingest flow to the events topic, or the single
// flow with `broker: none`) and calls done only once they are durable
// there, so a tick cut short by a crash is offered again. The daily
// RECENCY sweep is the first; the cart-abandonment timers use the same
// interface.
//
// Two leaves hold what the packages below the engine need too: the failure
// classes (pipeline/class, re-exported here as Class, Retry, Reject, Stop,
// ClassOf and CodeOf) and the one retry backoff (pipeline/backoff, which
// pipeline.retry configures and every connector's own retries use).
package pipeline

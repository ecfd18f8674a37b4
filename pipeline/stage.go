package pipeline

import (
	"context"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// Record is one message moving through a pipeline. Key and Value are what
// goes on Kafka (key = shop domain, value = a tajo.event.v1 envelope).
//
// A record is decoded once: the first stage that reads it sets Event, and
// every later stage and sink reads that (DecodeEvent). A stage that
// changes the event (a mapping's attributes) changes Event and clears
// Value (SetEvent); the bytes are written again only at a boundary that
// needs them (Bytes: a file, a Kafka topic, a dead letter). Value's bytes
// never change once a record exists, so a decoded Event may point into
// them.
type Record struct {
	Key []byte
	// Value is the record's encoding as its input gave it, or nil once a
	// stage changed Event (use Bytes).
	Value []byte
	// Event is the record decoded, shared by every stage and sink after
	// the one that decoded it; nil until then. Sinks read it, never
	// change it: they run concurrently on the same record.
	Event *schemas.Event
	Time  time.Time
	// Position is the source's opaque position of this record; the source
	// receives it back in Ack, in order. Records read from Kafka carry their
	// partition (4 bytes) and offset (8 bytes), big-endian.
	Position Position
	// Sinks, when non-nil, restricts delivery to the named sinks (set by a
	// route transform). Nil means every sink.
	Sinks []string
	// Cache is a stage's private view of the record (the transform
	// chain's typed item), carried from one stage of the chain to the
	// next; nothing outside the stage that set it reads it.
	Cache any
}

// SetEvent makes ev the record's content: Value no longer matches it and
// is dropped, and Bytes encodes ev when a boundary needs bytes.
func (r *Record) SetEvent(ev *schemas.Event) {
	r.Event, r.Value = ev, nil
}

// DecodeEvent returns the record's event: the one a stage decoded, or
// Value decoded and validated now. A sink that decodes it itself does not
// keep the result on the record, which other sinks read concurrently.
func (r *Record) DecodeEvent() (*schemas.Event, error) {
	if r.Event != nil {
		return r.Event, nil
	}
	return schemas.DecodeEvent(r.Value)
}

// Bytes returns the record's encoding: Value, or Event encoded when a
// stage changed it. The encoding is not kept on the record (concurrent
// sinks share it); a boundary that copies the bytes anyway uses AppendBytes.
func (r *Record) Bytes() ([]byte, error) {
	if r.Value != nil || r.Event == nil {
		return r.Value, nil
	}
	return r.Event.AppendJSON(nil)
}

// AppendBytes appends the record's encoding (see Bytes) to dst.
func (r *Record) AppendBytes(dst []byte) ([]byte, error) {
	if r.Value != nil || r.Event == nil {
		return append(dst, r.Value...), nil
	}
	return r.Event.AppendJSON(dst)
}

// Position is a source's opaque, persisted place in its input.
type Position []byte

// Source produces records. The engine calls Read from one goroutine and Ack
// from one goroutine, with positions in the order Read returned them; a
// source persists a position before it considers it acked (persist, then ack).
type Source interface {
	// Open prepares the source to read from its last persisted position.
	Open(ctx context.Context) error
	// Read blocks until at least one record is available and returns at most
	// max records. A bounded source returns io.EOF when it has no more.
	Read(ctx context.Context, max int) ([]*Record, error)
	// Ack tells the source that every record up to and including these
	// positions is durably handled downstream.
	Ack(ctx context.Context, positions []Position) error
	Close(ctx context.Context) error
}

// Transform turns one record into zero (filtered: still counts as handled),
// one or several records. Errors are classified (see Class); a Rejected
// error sends the input record to the dead-letter path.
type Transform interface {
	Process(ctx context.Context, rec *Record) ([]*Record, error)
}

// Predecoder is implemented by a transform that can decode a record ahead
// of its Process call. When a flow's first transform is one, the engine
// calls Predecode from the goroutine that takes records in, so decoding
// overlaps with the chain's work on earlier records (on another core).
// Predecode runs concurrently with Process calls on other records: it must
// read no state the stages change. It keeps what it decoded on the record
// (Event, Cache); a record it cannot decode it leaves as it was, for
// Process to reject with its reason.
type Predecoder interface {
	Predecode(rec *Record)
}

// BatchFlusher is implemented by stateful transforms that make their state
// changes durable once per batch instead of once per record. The engine
// calls FlushBatch after the transforms of a batch have run and before any
// of its records reaches a sink, so no record is acked before the state it
// changed is durable. A failure is retried like a retryable error.
type BatchFlusher interface {
	FlushBatch(ctx context.Context) error
}

// Closer is implemented by stages that hold resources (a journal, a state
// handle); the runner closes them after every flow has stopped.
type Closer interface {
	Close(ctx context.Context) error
}

// Sink delivers records. Write returns nil when every record of the batch is
// durably delivered, a classified error that applies to the whole batch, or
// a *BatchError with one outcome per record. Writes to one sink are
// sequential, in batch order.
type Sink interface {
	Open(ctx context.Context) error
	Write(ctx context.Context, batch []*Record) error
	Close(ctx context.Context) error
}

// PipelinedSink is a sink that takes the next batch before the previous
// one is delivered: the engine may call Write again while up to
// Pipeline() calls are in flight, so the sink can merge the records of
// several batches into its requests while it waits on its service (a rate
// limit, an import). What must stay ordered across batches (one contact's
// writes) the sink keeps in order itself, by the batch number each call
// carries (BatchSeq); the engine still acks records in order.
type PipelinedSink interface {
	Sink
	// Pipeline is how many Write calls may be in flight at once.
	Pipeline() int
}

// StatusReporter is implemented by a sink (or another component) with a
// state of its own for /status, beside its flows' counters: the Brevo
// sink's rate budget per endpoint group and its queue of contacts.
// /status lists it under "sinks" by the sink's name. Status is called
// from the control listener, concurrently with Write: it takes its own
// locks, must not block on the service, and returns a value for
// encoding/json that nothing changes afterwards.
type StatusReporter interface {
	Status() any
}

// DeadLetter is one rejected record on its way to the error sink.
type DeadLetter struct {
	Time    time.Time
	Stage   string // e.g. "sink:brevo" or "transform:map"
	Class   Class
	Code    string
	Reason  string
	Key     []byte
	Payload []byte
}

// DeadLetterSink stores rejected records. A failure to store one stops the
// pipeline: a record is never dropped because its dead-letter write failed.
type DeadLetterSink interface {
	WriteDeadLetters(ctx context.Context, dl []DeadLetter) error
}

// Env is what the engine hands every component it builds.
type Env struct {
	Name    string // the component's name in pipeline.yaml, e.g. "file"
	DataDir string // the pipeline's data directory
	Log     *logrus.Entry
	State   state.Store
	// Journal is State with batched commits (state.Journal), for state
	// that changes with every record: a transform reads and writes keys
	// and the engine commits them once per batch, before any record of the
	// batch reaches a sink. Nil outside a run.
	Journal *state.Journal
	// HTTP is the host server's router, for connectors that receive
	// requests (webhooks, the storefront collector); nil when
	// server.listen is empty.
	HTTP *http.ServeMux
	// Control is the control listener's router (control.listen), behind
	// its bearer token: history queries, status, admin actions. Nothing
	// mounted here is reachable from the webhook listener. Nil when the
	// control listener is disabled.
	Control *http.ServeMux
	// PluginsDir is where external plugin binaries are (plugins.dir).
	PluginsDir string
	// PluginSHA256 pins plugin binaries by name (plugins.sha256, decoded).
	PluginSHA256 map[string][]byte
	// Webhooks keeps the webhook log: the history sink (history.sink);
	// nil without one.
	Webhooks WebhookLogger
	// Checks takes the connection checks a component sees (how Shopify
	// or Brevo answered its credentials); nil outside a run.
	Checks CheckReporter
	// Now is the runner's clock (WithClock): a stage that computes with
	// the current time (RECENCY) uses it, so a test can move time by
	// days. Nil outside a run: use time.Now.
	Now func() time.Time
}

// Positions is where a source keeps its place: the state journal (saved
// with one write per ack), or nil outside a run.
func (e Env) Positions() state.Positions {
	if e.Journal == nil {
		return nil
	}
	return e.Journal
}

// WebhookLog is one webhook the host answered.
type WebhookLog struct {
	Time       time.Time
	Shop       string
	Topic      string
	WebhookID  string
	APIVersion string
	HMAC       string // valid, invalid or missing
	Status     int    // the HTTP status answered
	Bytes      int
	Latency    time.Duration
}

// WebhookLogger is implemented by a sink that keeps the webhook log
// (clickhouse's webhook_log). Entries are informational: the log is written
// after the answer and a failure to write it loses no event.
type WebhookLogger interface {
	LogWebhooks(ctx context.Context, logs []WebhookLog) error
}

// Outcome is what finally happened to one record at one stage or sink,
// for the history (HistoryEntry).
type Outcome struct {
	Stage   string // a sink name, or "transform:<name>" for a skip or rejection there
	Record  *Record
	Result  string // delivered, skipped or rejected
	Reason  string
	Attempt int
	Latency time.Duration
}

// Outcome results, as sync_history spells them.
const (
	ResultDelivered = "delivered"
	ResultSkipped   = "skipped"
	ResultRejected  = "rejected"
)

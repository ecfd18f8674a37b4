package plugins

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// SourcePlugin is what a source plugin implements, and what the host calls
// on a launched plugin (through gRPC, with the same contract). See the
// package documentation for the lifecycle.
//
// Read and Ack are called from different goroutines, concurrently with each
// other and with HandleWebhook and TestConnection; every other method is
// called alone.
type SourcePlugin interface {
	// Specify describes the plugin. It must work before Configure (for
	// listings); the host also calls it after Configure, so Spec.Webhooks
	// may depend on the configuration.
	Specify(ctx context.Context) (Spec, error)
	// Configure applies the plugin's configuration, JSON-encoded by the
	// host. A configuration that can never work is reported by wrapping
	// ErrInvalidConfig: the host then stops instead of restarting the plugin.
	Configure(ctx context.Context, config []byte) error
	// Open prepares reading right after position, the last position the
	// host acked in an earlier run (nil: from the beginning).
	Open(ctx context.Context, position []byte) error
	// Read blocks until records are available and returns them, each with
	// a Position. It returns io.EOF once a bounded plugin has nothing more
	// (webhooks keep working); a plugin that only answers webhooks blocks
	// until ctx is done. Read should retry transient failures itself: any
	// other error ends the run, and the host restarts the plugin with
	// backoff (or stops the pipeline, for ErrInvalidConfig and ErrFatal).
	Read(ctx context.Context) ([]Record, error)
	// Ack reports positions the host has made durable, in the order Read
	// returned them, only ever positions this process returned. The host
	// has already persisted the last one: Ack is where a plugin may, for
	// example, release a cursor it no longer needs.
	Ack(ctx context.Context, positions [][]byte) error
	// HandleWebhook answers one HTTP request the host received for this
	// plugin. The plugin decides the status of a bad request (401 bad
	// signature, 400 malformed, 404 unknown shop, …) and returns the
	// records a good one produced: the host sends the response only once
	// those records are durable, and 503 if they cannot be made durable in
	// time, so the sender retries. Return an error only when the request
	// could not be judged (the host answers 503).
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error)
	// TestConnection checks the plugin can reach what it reads from and
	// says what it checked.
	TestConnection(ctx context.Context) (string, error)
	// Stop ends record production: a blocked Read returns. Acks may still
	// arrive afterwards.
	Stop(ctx context.Context) error
	// Teardown releases everything; the process is killed afterwards.
	Teardown(ctx context.Context) error
}

// Spec describes a plugin.
type Spec struct {
	Name    string
	Version string
	Summary string
	// Webhooks is true when the plugin answers HandleWebhook; the host then
	// keeps the source running after Read returned io.EOF.
	Webhooks bool
	// ConfigSchema is the JSON Schema of the configuration, if published.
	ConfigSchema string
	// Signing, when set, is how webhooks are signed: the host then
	// authenticates every request while reading it and answers a bad or
	// missing signature 401 itself, before anything reaches the plugin.
	Signing *WebhookSigning
	// Dedupe, when set with Signing, names each delivery: the host keeps
	// the window of deliveries answered 2xx in its state and answers
	// their copies itself (WebhookDedupe).
	Dedupe *WebhookDedupe
}

// Record is one record a plugin produces. Key and Value are what goes on
// Kafka (for tajo's own plugins: key = shop domain, value = a tajo.event.v1
// envelope).
type Record struct {
	Key   []byte
	Value []byte
	Time  time.Time
	// Position is where the record sits in the plugin's input, returned to
	// it in Ack and in Open after a restart. The host persists it but never
	// interprets it. Webhook records need none: the sender's retry is their
	// redelivery.
	Position []byte
}

// WebhookRequest is an HTTP request as the host received it. Body is the
// complete raw body (signatures are computed over these exact bytes).
type WebhookRequest struct {
	Method     string
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
	RemoteAddr string
}

// WebhookResponse is the plugin's answer to a WebhookRequest.
type WebhookResponse struct {
	// Status is the HTTP status; 0 means 200 OK.
	Status int
	Header http.Header
	Body   []byte
	// Records are made durable before Status is sent.
	Records []Record
	// Info describes the delivery for the host's webhook log.
	Info WebhookInfo
	// DoneToken, when set, is handed back to the plugin's WebhookDone
	// (if it implements WebhookFinisher) with the status the host finally
	// answered.
	DoneToken []byte
}

// WebhookInfo is what a plugin learned about one delivery; the host writes
// it to the webhook log (pipeline.WebhookLog) with the status it answered.
type WebhookInfo struct {
	Shop       string
	Topic      string
	WebhookID  string
	APIVersion string
	HMAC       string // valid, invalid or missing
}

// WebhookFinisher is implemented by a plugin that needs to know how a
// webhook was finally answered: whether its records became durable (a
// 2xx) or not (503, and the sender retries). A plugin that only wants
// copies of a delivery dropped declares Spec.Dedupe instead, and the
// host keeps the window.
//
// The host calls WebhookDone after answering, asynchronously, on whichever
// process runs at that time (the token must therefore be self-describing),
// and at most once per token; a call may be lost if the process dies, so
// a plugin must not wait for it without a deadline.
type WebhookFinisher interface {
	WebhookDone(ctx context.Context, token []byte, status int) error
}

var (
	// ErrInvalidConfig marks a configuration that can never work: the host
	// stops the pipeline with the message rather than restarting.
	ErrInvalidConfig = errors.New("invalid plugin configuration")
	// ErrFatal marks any other failure that restarting cannot fix (revoked
	// credentials, a store that uninstalled the app).
	ErrFatal = errors.New("fatal plugin error")
	// ErrUnavailable is returned by the host side while the plugin process
	// is not running (crashed, restarting, or killed).
	ErrUnavailable = errors.New("plugin unavailable")
)

// WebhookOnly supplies the stream half of SourcePlugin for a plugin that
// only answers webhooks (embed it, then implement Specify, Configure,
// HandleWebhook, TestConnection and Teardown): it produces no stream
// records and so has no positions to resume from or be acked.
type WebhookOnly struct{}

// Open ignores the position: webhook records need none.
func (WebhookOnly) Open(context.Context, []byte) error { return nil }

// Read blocks until the run ends.
func (WebhookOnly) Read(ctx context.Context) ([]Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Ack is never called with positions of a plugin that emits none.
func (WebhookOnly) Ack(context.Context, [][]byte) error { return nil }

// Stop has no stream to stop; the host ends Read's context.
func (WebhookOnly) Stop(context.Context) error { return nil }

// Package plugins is tajo's plugin system on hashicorp/go-plugin: the Go
// interface a source plugin implements (SourcePlugin), the handshake and
// versioned plugin sets, the gRPC adapters of the tajo.plugin.source.v1
// protocol (proto/source.proto; neither hosts nor plugins ever see its
// generated types), the plugin side (Serve) and the host side (Launch, and
// Source, a pipeline.Source on top of a supervised plugin process).
//
// # Writing a source plugin
//
// Implement SourcePlugin and serve it:
//
//	func init() { plugins.RegisterBuiltin("shopify", func() plugins.SourcePlugin { return New() }) }
//
// `tajo plugin shopify` (started by tajo itself, never by hand) then calls
// plugins.Serve("shopify", New()). A third-party plugin is its own binary
// whose main calls plugins.Serve and nothing else first: stdout carries
// go-plugin's handshake. Log with plugins.Logger (hclog) or plugins.Logrus;
// both write JSON lines on stderr that the host re-logs with a plugin
// field. The process receives no environment from the host: everything it
// needs, secrets included, arrives through Configure (a connector config
// whose secrets mask themselves in JSON encodes itself as a PluginConfig).
//
// The host drives one process through this lifecycle:
//
//	Specify            describe yourself (also called after Configure)
//	Configure(json)    wrap ErrInvalidConfig for a config that can never work
//	Open(position)     resume right after the last acked position (nil: start)
//	Read … / Ack …     records out, each with a Position; acks in, in order
//	HandleWebhook      any time after Configure, concurrently with Read/Ack
//	TestConnection     any time after Configure
//	Stop, Teardown     then the process is killed
//
// A plugin that only answers webhooks embeds WebhookOnly for the stream
// half. Positions are opaque bytes the host persists (in the state store, before
// telling the plugin: persist, then ack) and hands back to Open after a
// restart, whether of the process or of tajo. A plugin therefore needs no
// storage of its own for its read position. Read should retry transient
// failures itself; an error from Read ends the process's run, and the host
// restarts it with exponential backoff, unless the error wraps ErrFatal or
// ErrInvalidConfig, which stop the pipeline with the plugin's message.
//
// # Webhooks and invariants 1 and 8
//
// The host mounts /webhooks/<name> (Source.Mount) and passes each request
// (method, path, query, headers, the raw body up to a size limit; 413
// beyond) to HandleWebhook. A plugin that declares how its webhooks are
// signed (Spec.Signing) has the host authenticate every request while
// reading it: a bad or missing signature is answered 401 by the host and
// nothing of it reaches the plugin; at most 32 bodies are read
// unauthenticated at once (503 beyond), and refused requests are counted
// (Source.Unauthenticated) and sampled into the webhook log: the
// webhook half of invariant 8 (closed by default), tested by
// TestVerifier and sources/shopify TestIngressAuthenticatesBeforeReading
// and TestIngressUnsignedSampled. The plugin
// decides the status of any other request (400 malformed, …) and returns
// the records of a good one. The host answers the plugin's status only after the
// engine has acked every one of those records, that is, after they are
// durably on Kafka; if that does not happen within the timeout, or the
// plugin crashes mid-request, or tajo shuts down, it answers 503 so the
// sender retries. A sender never gets a 2xx for an event tajo could still
// lose; it may get a 503 for one tajo kept, which the event's
// deterministic id makes harmless downstream.
//
// A response's Info (shop, topic, delivery id, API version, signature
// verdict) goes to the webhook log (pipeline.Env.Webhooks) with the status
// answered, after the answer and never delaying it. A plugin that
// implements WebhookFinisher is told, through WebhookDone and the
// response's DoneToken, the status finally answered.
//
// A plugin whose sender delivers at least once declares, beside its
// signing, which header names a delivery (Spec.Dedupe): the host then
// keeps the window of delivered ids in the engine's state journal
// (pipeline.Env.Journal, data_dir/state.db; the plugin process cannot
// open that file, bbolt locks it). An authenticated copy of a delivery
// answered 2xx within the window is answered 200 "duplicate" without
// reaching the plugin; copies that arrive while one is being judged wait
// for its outcome; a delivery counts as seen only once it was answered
// 2xx, so the sender's retry of one answered 503 is judged afresh.
//
// # Host side
//
// Launch starts either this very binary as `tajo plugin <name>` (a built-in
// plugin) or the binary <plugins.dir>/<name>, which takes precedence so an
// operator can swap a built-in plugin. Such a binary runs with the
// connector's secrets, so it is refused (fatally, naming path, owner, mode
// and the fix) unless tajo's user or root owns it and neither it nor its
// directory is group- or world-writable (invariant 8 again:
// TestLaunchRefusesUntrustedExecutables); plugins.sha256 pins it (go-plugin's
// SecureConfig), and a pinned plugin never falls back to the built-in. It
// uses gRPC only, mutual TLS (go-plugin's AutoMTLS), an empty environment,
// and kills the process on every failure. Source adds
// supervision: gRPC health checks, restart with backoff after a crash or a
// failed check (configure again, open again from the last acked position),
// and Kill on Close. ServeTest serves a plugin inside a test process over
// real gRPC, for plugin authors' unit tests.
package plugins

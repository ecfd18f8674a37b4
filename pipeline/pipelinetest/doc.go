// Package pipelinetest is the connector acceptance suite: a source or sink
// is whatever passes SourceAcceptance or SinkAcceptance. Every source and
// sink in tajo runs it in its own tests, so the engine's assumptions
// (positions, persist-then-ack, resume after the last ack, classified
// errors, harmless redelivery) are checked in one place.
//
// Clock is a simulated clock for pipeline.WithClock, so a test moves a
// running pipeline's timers (the daily RECENCY sweep) by days.
//
// SelfSigned and RecordTLS show what a client's TLS settings (server_name,
// insecure_skip_verify, a client certificate) put on the wire.
package pipelinetest

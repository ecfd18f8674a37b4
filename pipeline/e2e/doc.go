// Package e2e runs the engine with the real components around it (the
// default transforms chain, the file source and sink) where a test of
// the engine alone cannot show a user-visible effect: the daily RECENCY
// sweep moving a contact's RECENCY on simulated time. It holds tests
// only; it imports upward (transforms, sources, sinks), which no package
// of the engine itself may.
package e2e

// Package broker runs the embedded Kafka-protocol broker (kfake) that tajo
// uses when no external brokers are configured.
//
// The broker persists topics, messages and committed offsets under its data
// directory, so a restart continues where the last run stopped; it listens
// on loopback only, and tajo talks to it with the same kafka-go code it uses
// for a real cluster, so there is one code path to test.
package broker

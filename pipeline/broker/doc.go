// Package broker runs the embedded Kafka-protocol broker (kfake) that tajo
// uses when no external brokers are configured.
//
// The broker persists topics, messages and committed offsets under its data
// directory, so a restart continues where the last run stopped, and tajo
// talks to it with the same kafka-go code it uses for a real cluster, so
// there is one code path to test.
//
// Closed by default (invariant 8): it listens on loopback only, unless SASL
// with a SCRAM mechanism is configured; its directory is 0700 and every
// file in it 0600 (kfake asks for 0644, so Start tightens the process
// umask and narrows what an older run left). Its broker-wide message limit
// and retention are set by tajo, and it trims expired records itself
// (kfake only does when asked).
package broker

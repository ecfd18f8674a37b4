// Package echo is a built-in source plugin that exists to exercise the
// plugin machinery end to end before (and beside) the real connectors:
// `tajo plugin echo` serves it. Its Run stream generates numbered records
// from a position, and each webhook body becomes one record. Request
// headers steer its answers so tests can reach every path of the host:
//
//	X-Echo-Status: 401   answer with that status and no records
//	X-Echo-Records: 3    produce that many records from the body
//	X-Echo-Sleep: 2s     wait that long (or until cancelled) first
//	X-Echo-Id: abc       describe the delivery (webhook log) and ask for
//	                     WebhookDone, which the plugin records
//
// TestConnection reports the names (never the values) of the environment
// variables the process sees, so a test can prove the host passed none.
package echo

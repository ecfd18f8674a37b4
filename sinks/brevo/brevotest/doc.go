// Package brevotest is an in-memory simulator of the Brevo API v3 endpoints
// tajo uses, for tests and demos: contacts (written, read one by one, and
// listed by GET /v3/contacts as the first-run hint shows), attributes,
// lists, contact imports and processes, events (single and batch),
// products, categories and orders.
//
// It validates requests the way the Brevo spec and docs describe (required
// fields, types, email syntax, attribute existence, list ids, batch and size
// limits) and answers with Brevo's error model, authenticates the api-key
// header, enforces configurable rate limits with real 429s and
// x-sib-ratelimit-* headers on every response (global, per route, or per
// endpoint group as Brevo rates them: GeneralTier), and injects faults
// (5xx, latency, hangs, outages) deterministically from a seed. Imports
// take time like Brevo's (Options.ImportTime, longer for big ones) and call
// their notifyUrl when done. Accessors expose the state and request
// statistics for assertions. A Server is safe for concurrent use.
//
// Where Brevo's behaviour is documented as lenient, the simulator is too, but
// records it: values of the wrong attribute type are dropped (as Brevo does)
// and listed by IgnoredValues. Unknown JSON fields are refused unless
// Options.Lenient is set, so a misspelt field in the client fails a test
// instead of being silently ignored.
package brevotest

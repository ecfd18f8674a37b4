// Package server holds tajo's two HTTP listeners. The webhook listener
// (server.listen, New) faces Shopify and the storefront: connectors mount
// their endpoints on it, and it serves /healthz and nothing else. The
// control listener (control.listen, NewControl) carries everything that
// must not face them (history queries, /status, admin actions) behind a
// bearer token, a Host check and an Origin check: the "closed by default"
// half of invariant 8 is enforced here. Request bodies are bounded by the
// handlers that read them (invariant 5).
package server

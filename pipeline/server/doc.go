// Package server is the host HTTP server: webhook ingress and the storefront
// collector are mounted on it by their connectors, and it serves the control
// endpoints (/healthz, /status). Request bodies are bounded by the handlers
// that read them (invariant 5).
package server

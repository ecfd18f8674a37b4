package brevo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// Codes tajo attaches to rejections it decides itself, before or without a
// Brevo error body. Brevo's own codes (invalid_parameter, duplicate_parameter,
// document_not_found, …) are passed through unchanged.
const (
	CodeEventTooLarge    = "event_too_large"
	CodeInvalidEvent     = "invalid_event"
	CodeBatchEventFailed = "batch_event_failed"
	CodeContactTooLarge  = "contact_too_large"
	CodeImportFailed     = "import_failed"
)

// APIError is a non-2xx answer from Brevo. It carries Brevo's error model
// ({code, message}) and the HTTP status; the client always returns it
// wrapped in a *pipeline.Error, so use errors.As to reach it.
type APIError struct {
	Status  int
	Code    string // Brevo's code, or "http_<status>" when the body had none
	Message string
	// Route is the endpoint template, e.g. "POST /contacts/{identifier}".
	Route string
	// RetryAfter is the wait Brevo asked for on a 429 (x-sib-ratelimit-reset).
	RetryAfter time.Duration
	// DuplicateIdentifiers lists the identifiers Brevo found duplicated
	// (metadata.duplicate_identifiers), when it says so.
	DuplicateIdentifiers []string

	body []byte // kept for endpoints whose error body has more structure
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("brevo %s: %d %s: %s", e.Route, e.Status, e.Code, msg)
}

// accountWideCodes are refusals that no retry or per-record handling can fix:
// the account or key itself is the problem, so the pipeline must stop.
var accountWideCodes = map[string]bool{
	"unauthorized":               true,
	"permission_denied":          true,
	"reseller_permission_denied": true,
	"not_enough_credits":         true,
	"account_under_validation":   true,
}

// classify maps a Brevo answer to a pipeline error class.
func (c *Client) classify(e *APIError) error {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		accountWideCodes[e.Code]:
		return pipeline.Stop(fmt.Errorf("brevo refused the API key%s (%d %s: %s); check the key and its permissions in Brevo → SMTP & API → API keys: %w",
			c.keyHintSuffix(), e.Status, e.Code, e.Message, e))
	case e.Status == http.StatusTooManyRequests:
		return pipeline.Retry(e)
	case e.Status == http.StatusRequestTimeout || e.Status >= 500:
		return pipeline.Retry(e)
	case e.Status >= 400:
		return pipeline.Reject(e.Code, e)
	}
	// A 1xx/3xx we did not ask for: retrying is the only choice that cannot
	// lose data.
	return pipeline.Retry(e)
}

// transportError classifies a failure to get any answer at all.
func transportError(route string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return pipeline.Retry(fmt.Errorf("brevo %s: timed out: %w", route, err))
	}
	return pipeline.Retry(fmt.Errorf("brevo %s: %w", route, err))
}

// RetryAfter reports the wait Brevo asked for when err comes from a 429 that
// carried x-sib-ratelimit-reset.
func RetryAfter(err error) (time.Duration, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusTooManyRequests && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// IsNotFound reports whether err is Brevo saying the object does not exist.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Code == "document_not_found")
}

// IsDuplicate reports whether err is Brevo refusing a duplicate identifier.
func IsDuplicate(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == "duplicate_parameter"
}

// scrub removes the API key from text Brevo (or a proxy) echoed back, so it
// cannot reach a log through an error message.
func scrub(s, key string) string {
	if key == "" || len(key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, key, "<api-key>")
}

package shopify

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrUnauthorized means the delivery is not proven to come from Shopify:
	// answer 401 and do not look at the body.
	ErrUnauthorized = errors.New("shopify webhook: unauthorized")
	// ErrMalformed means the delivery can never be processed as sent:
	// answer 400.
	ErrMalformed = errors.New("shopify webhook: malformed")
	// ErrUnsupportedTopic means the topic is valid but tajo has no use for
	// it: acknowledge (2xx) and record, so Shopify neither retries it nor
	// removes the subscription.
	ErrUnsupportedTopic = errors.New("shopify webhook: unsupported topic")
	// ErrNoSecret means tajo has no client secret to verify with: a
	// configuration error of ours, not a verdict on the delivery, so it
	// fails closed with a 500 (Shopify retries) rather than a 401.
	ErrNoSecret = errors.New("shopify webhook: no client secret configured")
)

// malformed wraps a reason so that errors.Is(err, ErrMalformed) holds and
// the message says what was wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// HTTPStatus is the answer the webhook ingress owes Shopify for the outcome
// of Verify or Normalize. Anything unclassified is a 500, so Shopify
// retries it: a failure of ours must not read as a verdict on the delivery.
// A nil error is a 200 only once the event is durably on Kafka (invariant
// 1), which is the caller's to ensure.
func HTTPStatus(err error) int {
	switch {
	case err == nil, errors.Is(err, ErrUnsupportedTopic):
		return http.StatusOK
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

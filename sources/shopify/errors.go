package shopify

import (
	"errors"
	"fmt"
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
)

// malformed wraps a reason so that errors.Is(err, ErrMalformed) holds and
// the message says what was wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

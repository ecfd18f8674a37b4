package pipeline

import (
	"errors"
	"fmt"
)

// Class says what the engine does with a failure. Every error a stage
// returns has one; an error without a class is treated as Retryable, because
// retrying is the only choice that cannot lose data.
type Class int

const (
	// Retryable failures (timeouts, 429, 5xx, a server that is down) are
	// retried with exponential backoff and jitter. Nothing is acked meanwhile.
	Retryable Class = iota + 1
	// Rejected records can never succeed (an invalid email, a value the
	// destination refuses). They go to the dead-letter path with their
	// reason and are then acked, so one bad record never stops the flow.
	Rejected
	// Fatal failures (bad credentials, a broken mapping) stop the pipeline
	// with a clear message instead of discarding data.
	Fatal
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Rejected:
		return "rejected"
	case Fatal:
		return "fatal"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified failure.
type Error struct {
	Class Class
	// Code is a short stable identifier, e.g. Brevo's error code
	// ("invalid_parameter") or an HTTP status ("http_429").
	Code string
	Err  error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (%s): %v", e.Class, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Class, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retry marks err as retryable.
func Retry(err error) error { return classify(Retryable, "", err) }

// Reject marks err as a permanent, per-record failure with a stable code.
func Reject(code string, err error) error { return classify(Rejected, code, err) }

// Stop marks err as fatal: the pipeline stops.
func Stop(err error) error { return classify(Fatal, "", err) }

func classify(c Class, code string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Code: code, Err: err}
}

// ClassOf returns the class of err: the outermost classified error wins,
// an unclassified error is Retryable, nil is 0.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Retryable
}

// CodeOf returns the code of the outermost classified error, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// BatchError reports per-record outcomes of a batch write: Errs[i] is the
// outcome of batch[i] (nil = delivered). A sink returns it when some records
// of a batch succeeded and others did not; the engine retries only the
// retryable ones and dead-letters the rejected ones.
type BatchError struct {
	Errs []error
}

func (b *BatchError) Error() string {
	var n int
	var first error
	for _, e := range b.Errs {
		if e != nil {
			if first == nil {
				first = e
			}
			n++
		}
	}
	return fmt.Sprintf("%d of %d records failed, first: %v", n, len(b.Errs), first)
}

// SkipError is returned by a transform that deliberately drops a record
// (a duplicate, a stale update), or by a sink as one record's outcome in a
// BatchError when it deliberately sends nothing for it (a test order): the
// record counts as handled, like a filtered one, and the reason goes to the
// sync history as "skipped", never "delivered".
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a *SkipError with reason.
func Skip(reason string) error { return &SkipError{Reason: reason} }

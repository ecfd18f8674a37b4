package class

import (
	"errors"
	"fmt"
)

// Class says what the engine does with a failure.
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
func Retry(err error) error { return New(Retryable, "", err) }

// Reject marks err as a permanent, per-record failure with a stable code.
func Reject(code string, err error) error { return New(Rejected, code, err) }

// Stop marks err as fatal: the pipeline stops.
func Stop(err error) error { return New(Fatal, "", err) }

// New classifies err as c with code; nil stays nil.
func New(c Class, code string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Code: code, Err: err}
}

// Of returns the class of err: the outermost classified error wins, an
// unclassified error is Retryable, nil is 0.
func Of(err error) Class {
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

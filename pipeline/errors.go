package pipeline

import (
	"fmt"

	"github.com/tajo/tajo/pipeline/class"
)

// The classification of failures lives in pipeline/class, a leaf that the
// packages below the engine (pipeline/kafka) import too; these are its
// names as the stages have always written them.

// Class says what the engine does with a failure. Every error a stage
// returns has one; an error without a class is treated as Retryable, because
// retrying is the only choice that cannot lose data.
type Class = class.Class

// Error is a classified failure.
type Error = class.Error

const (
	// Retryable failures are retried with exponential backoff and jitter.
	Retryable = class.Retryable
	// Rejected records go to the dead-letter path and are then acked.
	Rejected = class.Rejected
	// Fatal failures stop the pipeline.
	Fatal = class.Fatal
)

// Retry marks err as retryable.
func Retry(err error) error { return class.Retry(err) }

// Reject marks err as a permanent, per-record failure with a stable code.
func Reject(code string, err error) error { return class.Reject(code, err) }

// Stop marks err as fatal: the pipeline stops.
func Stop(err error) error { return class.Stop(err) }

// ClassOf returns the class of err: the outermost classified error wins,
// an unclassified error is Retryable, nil is 0.
func ClassOf(err error) Class { return class.Of(err) }

// CodeOf returns the code of the outermost classified error, or "".
func CodeOf(err error) string { return class.CodeOf(err) }

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

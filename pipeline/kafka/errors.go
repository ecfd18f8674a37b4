package kafka

import (
	"errors"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tajo/tajo/pipeline/class"
)

// Kind says what a produce failure means for the record: the engine's own
// class (pipeline/class, a leaf this package can import although the
// engine imports this one), so the engine acts on it without a mapping of
// its own.
type Kind = class.Class

const (
	// Retryable: the leader moved, too few replicas, a timeout, the network.
	// Writing the same record again later can succeed.
	Retryable = class.Retryable
	// Rejected: this record can never be written as it is (too large,
	// invalid). It goes to the error history; the others go on.
	Rejected = class.Rejected
	// Fatal: the cluster or the configuration is wrong for every record
	// (authentication, authorization, an unsupported compression). Stop
	// with a clear message rather than retry or discard.
	Fatal = class.Fatal
)

// Stable codes of rejected records, as they appear in the error history.
const (
	CodeTooLarge      = "kafka_message_too_large"
	CodeInvalidRecord = "kafka_invalid_record"
)

// WriteError is the failure of one record.
type WriteError struct {
	Kind Kind
	// Code is a stable identifier for rejected records ("" otherwise).
	Code string
	// Size is the record's size in bytes before compression; Limit the
	// broker's max.message.bytes, both set for a too-large record.
	Size, Limit int
	Err         error
}

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// rejected lists the broker answers that name the record, not the moment:
// sending it again gets the same answer. Kafka marks CORRUPT_MESSAGE
// retriable (corruption in transit); it is retried once, alone, before it
// counts as rejected (see Producer.Write).
var rejected = map[kafkago.Error]string{
	kafkago.MessageSizeTooLarge: CodeTooLarge,
	kafkago.RecordListTooLarge:  CodeTooLarge,
	kafkago.InvalidRecord:       CodeInvalidRecord,
	kafkago.InvalidMessage:      CodeInvalidRecord, // CORRUPT_MESSAGE
	kafkago.InvalidTimestamp:    CodeInvalidRecord,
}

// Classify returns the kind of a produce error and, for rejected ones, its
// code. Kafka protocol errors that Kafka documents as retriable are
// retryable, the per-record ones above rejected, every other protocol
// error fatal (authorization, unsupported version or compression, a
// policy: none of them goes away by itself). Errors outside the protocol
// (dial, I/O, deadlines) are retryable.
func Classify(err error) (Kind, string) {
	var we *WriteError
	if errors.As(err, &we) {
		return we.Kind, we.Code
	}
	var mt kafkago.MessageTooLargeError
	if errors.As(err, &mt) {
		return Rejected, CodeTooLarge
	}
	var ke kafkago.Error
	if !errors.As(err, &ke) {
		return Retryable, ""
	}
	if code, ok := rejected[ke]; ok {
		return Rejected, code
	}
	if ke.Temporary() || ke == kafkago.Unknown {
		return Retryable, ""
	}
	return Fatal, ""
}

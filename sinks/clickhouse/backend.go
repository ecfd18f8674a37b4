package clickhouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tajo/tajo/pipeline"
)

// backend is what differs between a ClickHouse server and the embedded chDB.
// Everything above it (DDL, queries, row mapping) is shared, so the two run
// the same SQL.
type backend interface {
	// exec runs one statement that returns nothing.
	exec(ctx context.Context, stmt string) error
	// insert writes rows into table, naming cols explicitly (18.16 silently
	// inserts an empty batch otherwise). Values are Go values of the
	// columns' types: string, uint*, int*, time.Time, decimal.Decimal.
	insert(ctx context.Context, table string, cols []string, rows [][]any) error
	// query runs one SELECT (or SHOW, DESCRIBE…) and returns its result
	// with values normalized (see Result).
	query(ctx context.Context, q string) (*Result, error)
	// queryLimited runs a statement someone typed (checked by checkSQL)
	// with settings that make it read-only and bound its result and time.
	// On chDB it also waits behind at most one other such query, so a
	// writer never queues behind several.
	queryLimited(ctx context.Context, q string, settings []setting) (*Result, error)
	close() error
	name() string
}

// Result is a query's answer, the same whichever backend ran it.
//
// Values are normalized so callers need not care about the backend: every
// unsigned integer is a uint64, every signed one an int64, floats float64,
// decimals decimal.Decimal, DateTime a time.Time in UTC, NULL nil, and
// everything else (String, Enum, arrays…) a string in ClickHouse's text form.
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
}

// setting is one numeric query setting (18.16 takes no string-valued ones
// from clients that must also run on it).
type setting struct {
	name  string
	value int
}

// Code of a few ClickHouse exceptions that retrying cannot fix.
var fatalCodes = map[int32]string{
	16:  "NO_SUCH_COLUMN_IN_TABLE",
	27:  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
	36:  "BAD_ARGUMENTS",
	47:  "UNKNOWN_IDENTIFIER",
	53:  "TYPE_MISMATCH",
	60:  "UNKNOWN_TABLE",
	62:  "SYNTAX_ERROR",
	70:  "CANNOT_CONVERT_TYPE",
	81:  "UNKNOWN_DATABASE",
	164: "READONLY",
	192: "UNKNOWN_USER",
	193: "WRONG_PASSWORD",
	194: "REQUIRED_PASSWORD",
	497: "ACCESS_DENIED",
	516: "AUTHENTICATION_FAILED",
}

var chdbCode = regexp.MustCompile(`^Code: (\d+)\.`)

// classify turns a backend error into the engine's classes. A ClickHouse
// that is down, slow or overloaded is Retryable: the pipeline holds and
// Kafka keeps the backlog. Bad credentials and schema or SQL errors are
// Fatal, because retrying them would only hide a broken deployment. Anything
// unrecognized is Retryable, the class that cannot lose data.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pipeline.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, ErrNoLibrary) || errors.Is(err, ErrLocked) {
		return pipeline.Stop(err)
	}
	var (
		verr *tls.CertificateVerificationError
		herr x509.HostnameError
		aerr x509.UnknownAuthorityError
		rerr tls.RecordHeaderError
	)
	if errors.As(err, &verr) || errors.As(err, &herr) || errors.As(err, &aerr) || errors.As(err, &rerr) {
		// A certificate the client refuses, or TLS spoken to a plain port,
		// is a configuration to fix, not an outage to wait out.
		return &pipeline.Error{Class: pipeline.Fatal, Code: "tls", Err: err}
	}
	if code, ok := exceptionCode(err); ok {
		if name, fatal := fatalCodes[code]; fatal {
			return &pipeline.Error{Class: pipeline.Fatal, Code: "clickhouse_" + strings.ToLower(name), Err: err}
		}
		return &pipeline.Error{Class: pipeline.Retryable, Code: fmt.Sprintf("clickhouse_%d", code), Err: err}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &pipeline.Error{Class: pipeline.Retryable, Code: "timeout", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return &pipeline.Error{Class: pipeline.Retryable, Code: "unavailable", Err: err}
	}
	return pipeline.Retry(err)
}

func exceptionCode(err error) (int32, bool) {
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return ex.Code, true
	}
	var ce *chdbError
	if errors.As(err, &ce) && ce.code >= 0 {
		return ce.code, true
	}
	return 0, false
}

// chdbError is an exception chDB reported as text ("Code: 60. DB::Exception: …").
type chdbError struct {
	code int32
	msg  string
}

func (e *chdbError) Error() string { return strings.TrimSpace(e.msg) }

func newChdbError(msg string) error {
	if m := chdbCode.FindStringSubmatch(msg); m != nil {
		if c, err := strconv.ParseInt(m[1], 10, 32); err == nil {
			return &chdbError{code: int32(c), msg: msg}
		}
	}
	return &chdbError{code: -1, msg: msg}
}

func pipelineFatal(code string, err error) error {
	return &pipeline.Error{Class: pipeline.Fatal, Code: code, Err: err}
}

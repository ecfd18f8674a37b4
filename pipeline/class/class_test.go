package class

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassAndCode(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		name  string
		err   error
		class Class
		code  string
		text  string
	}{
		{"nil", nil, 0, "", ""},
		{"unclassified is retryable", base, Retryable, "", "boom"},
		{"retry", Retry(base), Retryable, "", "retryable: boom"},
		{"reject with code", Reject("invalid_parameter", base), Rejected, "invalid_parameter", "rejected (invalid_parameter): boom"},
		{"stop", Stop(base), Fatal, "", "fatal: boom"},
		{"wrapped keeps its class", fmt.Errorf("sink: %w", Reject("http_400", base)), Rejected, "http_400", "sink: rejected (http_400): boom"},
		{"outermost wins", Stop(Reject("x", base)), Fatal, "", "fatal: rejected (x): boom"},
	}
	for _, tc := range cases {
		if got := Of(tc.err); got != tc.class {
			t.Errorf("%s: class %v, want %v", tc.name, got, tc.class)
		}
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
		if tc.err != nil && tc.err.Error() != tc.text {
			t.Errorf("%s: %q, want %q", tc.name, tc.err.Error(), tc.text)
		}
	}
	if Retry(nil) != nil || Reject("c", nil) != nil || Stop(nil) != nil {
		t.Error("classifying nil must stay nil")
	}
	if !errors.Is(Retry(base), base) {
		t.Error("a classified error must unwrap to its cause")
	}
	for c, s := range map[Class]string{Retryable: "retryable", Rejected: "rejected", Fatal: "fatal", 9: "class(9)"} {
		if c.String() != s {
			t.Errorf("%d: %q, want %q", int(c), c.String(), s)
		}
	}
}

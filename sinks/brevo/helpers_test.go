package brevo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// newPair starts a simulator and a client pointed at it.
func newPair(t testing.TB, opts brevotest.Options, mod ...func(*brevo.Config)) (*brevotest.Server, *brevo.Client) {
	t.Helper()
	srv := brevotest.New(opts)
	t.Cleanup(srv.Close)
	cfg := brevo.Config{APIKey: config.Secret(srv.APIKey()), BaseURL: srv.URL(), PollInterval: 2 * time.Millisecond, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := brevo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func wantClass(t *testing.T, err error, class pipeline.Class, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got nil", class)
	}
	if got := pipeline.ClassOf(err); got != class {
		t.Fatalf("class = %s, want %s (err: %v)", got, class, err)
	}
	if code != "" {
		if got := pipeline.CodeOf(err); got != code {
			t.Fatalf("code = %q, want %q (err: %v)", got, code, err)
		}
	}
}

func batchErrs(t *testing.T, err error, n int) []error {
	t.Helper()
	var be *pipeline.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("want *pipeline.BatchError, got %T: %v", err, err)
	}
	if len(be.Errs) != n {
		t.Fatalf("BatchError has %d outcomes, want %d", len(be.Errs), n)
	}
	return be.Errs
}

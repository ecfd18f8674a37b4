package brevo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
)

func validate(mod func(*brevo.SinkConfig)) []config.Problem {
	c := brevo.NewSinkConfig().(*brevo.SinkConfig)
	c.APIKey = "xkeysib-valid-key-0000"
	mod(c)
	var p config.Problems
	c.Validate(&p, "sinks.brevo")
	return p.List()
}

// Plain http would carry the api-key and customers' data in clear text:
// only a loopback address (the simulators) may use it.
func TestBaseURLMustBeHTTPSUnlessLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://api.brevo.com/v3":        true,
		"https://proxy.internal:8443/v3":  true,
		"http://127.0.0.1:8080/v3":        true,
		"http://localhost:9/v3":           true,
		"http://[::1]:9/v3":               true,
		"http://api.brevo.com/v3":         false,
		"http://10.0.0.5/v3":              false,
		"http://127.0.0.1.example.com/v3": false,
		"ftp://api.brevo.com/v3":          false,
		"api.brevo.com/v3":                false,
	} {
		probs := validate(func(c *brevo.SinkConfig) { c.BaseURL = url })
		if ok != (len(probs) == 0) {
			t.Errorf("%s: problems %v, want ok=%v", url, probs, ok)
			continue
		}
		if !ok {
			p := probs[0]
			if p.Path != "sinks.brevo.base_url" || !strings.Contains(p.Message, "https") || !strings.Contains(p.Hint, "127.0.0.1") {
				t.Errorf("%s: %v: want the path, why, and the fix", url, p)
			}
		}
		_, err := brevo.New(brevo.Config{APIKey: "k", BaseURL: url})
		if ok != (err == nil) {
			t.Errorf("brevo.New(%s): %v, want ok=%v", url, err, ok)
		}
	}
}

func TestDedupeWindowAndTestOrdersValidated(t *testing.T) {
	if p := validate(func(c *brevo.SinkConfig) { c.Events.DedupeWindow = time.Minute }); len(p) != 1 || p[0].Path != "sinks.brevo.events.dedupe_window" {
		t.Errorf("dedupe_window 1m: %v", p)
	}
	if p := validate(func(c *brevo.SinkConfig) { c.TestOrders = "skipp" }); len(p) != 1 || p[0].Path != "sinks.brevo.test_orders" || !strings.Contains(p[0].Hint, "skip") {
		t.Errorf("test_orders skipp: %v", p)
	}
	if p := validate(func(*brevo.SinkConfig) {}); len(p) != 0 {
		t.Errorf("defaults: %v", p)
	}
}

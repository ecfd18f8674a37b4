package config

import (
	"strings"
	"testing"
)

// control: is on by default on loopback, refuses to share the webhook
// listener's address and a guessable token, and reads its token from
// TAJO_CONTROL_TOKEN as pipeline.yaml writes it.
func TestControlSection(t *testing.T) {
	cfg, err := Parse([]byte("version: 1\n"), env(nil))
	if err != nil || cfg.Control.Listen != "127.0.0.1:8081" || cfg.Control.Token != "" {
		t.Fatalf("default control: %+v %v", cfg.Control, err)
	}
	cfg, err = Parse([]byte("control: {listen: \"127.0.0.1:9000\", token: \"${TAJO_CONTROL_TOKEN:-}\"}\n"),
		env(map[string]string{"TAJO_CONTROL_TOKEN": "a-long-enough-token-1234"}))
	if err != nil || cfg.Control.Listen != "127.0.0.1:9000" || cfg.Control.Token.Reveal() != "a-long-enough-token-1234" {
		t.Fatalf("control from env: %+v %v", cfg.Control, err)
	}
	if cfg, err := Parse([]byte("control: {listen: \"\"}\n"), env(nil)); err != nil || cfg.Control.Listen != "" {
		t.Fatalf(`control.listen: "" disables: %+v %v`, cfg.Control, err)
	}
	for _, c := range []struct{ yaml, want string }{
		{"control: {listen: \"127.0.0.1:8080\"}\n", "control.listen: must differ from server.listen"},
		{"control: {listen: \"8081\"}\n", "control.listen: must be host:port"},
		{"control: {token: short}\n", "control.token: must be at least 16 characters, got 5"},
		{"control: {listne: x}\n", "control.listne: unknown key"},
	} {
		_, err := Parse([]byte(c.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "short") && strings.Contains(c.yaml, "short") {
			t.Errorf("the refused token is printed: %v", err)
		}
	}
}

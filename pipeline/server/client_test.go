package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CLI's probe tells a tajo that takes its token from one that refuses
// it, and both from nothing listening or nothing mounted at the path.
func TestProbeTellsUpRefusedAndAbsent(t *testing.T) {
	addr, _ := startControl(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	for _, c := range []struct {
		name, addr, path, token string
		want                    ControlState
	}{
		{"the token", addr, "/api/history", testToken, ControlUp},
		{"another token", addr, "/api/history", strings.Repeat("0", len(testToken)), ControlRefused},
		{"not mounted", addr, "/api/nothing", testToken, ControlAbsent},
		{"nothing listens", closed, "/api/history", testToken, ControlAbsent},
	} {
		if got := Probe(ctx, c.addr, c.path, c.token); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The CLI's token is control.token, else the one tajo run generated; it
// never generates one, and says where it looked without showing a token.
func TestClientTokenSaysWhereItCameFrom(t *testing.T) {
	dir := t.TempDir()
	if tok, from := ClientToken(dir, testToken); tok != testToken || from != "control.token" {
		t.Errorf("configured: %q from %q", tok, from)
	}
	tok, from := ClientToken(dir, "")
	if tok != "" || !strings.Contains(from, "does not exist") {
		t.Errorf("none generated yet: %q from %q", tok, from)
	}
	if _, err := os.Stat(filepath.Join(dir, ControlTokenFile)); err == nil {
		t.Error("ClientToken generated a token")
	}
	gen, err := ControlToken(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok, from := ClientToken(dir, ""); tok != gen || from != filepath.Join(dir, ControlTokenFile) {
		t.Errorf("generated: %q from %q", tok, from)
	}
	msg := RefusedTokenError{Addr: "127.0.0.1:8081", From: from}.Error()
	if strings.Contains(msg, gen) || !strings.Contains(msg, from) {
		t.Errorf("refused-token message shows the token or not its origin: %s", msg)
	}
}

package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "0123456789abcdef0123456789abcdef"

func startControl(t *testing.T) (string, *Server) {
	t.Helper()
	s := NewControl("127.0.0.1:0", testToken, time.Second, func() any { return map[string]int{"in": 42} })
	s.Mux.HandleFunc("POST /api/history", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "rows") })
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return addr, s
}

func call(t *testing.T, method, addr, path string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The control listener answers only requests with its token, to its own
// Host, from no foreign web origin.
func TestControlListenerIsClosed(t *testing.T) {
	addr, _ := startControl(t)
	_, port, _ := net.SplitHostPort(addr)
	bearer := "Bearer " + testToken
	for _, c := range []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		want   int
	}{
		{"no token", "POST", "/api/history", nil, 401},
		{"no token, status", "GET", "/status", nil, 401},
		{"no token, healthz", "GET", "/healthz", nil, 401},
		{"wrong token", "POST", "/api/history", map[string]string{"Authorization": "Bearer " + strings.Repeat("0", len(testToken))}, 401},
		{"token as basic auth", "POST", "/api/history", map[string]string{"Authorization": "Basic " + testToken}, 401},
		{"token prefix", "POST", "/api/history", map[string]string{"Authorization": bearer[:len(bearer)-1]}, 401},
		{"rebinding Host", "POST", "/api/history", map[string]string{"Authorization": bearer, "Host": "evil.example:" + port}, 403},
		{"Host with another port", "POST", "/api/history", map[string]string{"Authorization": bearer, "Host": "127.0.0.1:1"}, 403},
		{"foreign Origin", "POST", "/api/history", map[string]string{"Authorization": bearer, "Origin": "http://evil.example"}, 403},
		{"null Origin", "POST", "/api/history", map[string]string{"Authorization": bearer, "Origin": "null"}, 403},
		{"token", "POST", "/api/history", map[string]string{"Authorization": bearer}, 200},
		{"token, localhost", "POST", "/api/history", map[string]string{"Authorization": bearer, "Host": "localhost:" + port}, 200},
		{"token, own Origin", "POST", "/api/history", map[string]string{"Authorization": bearer, "Origin": "http://" + addr}, 200},
	} {
		code, body := call(t, c.method, addr, c.path, c.hdr)
		if code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, code, body, c.want)
		}
	}
	code, body := call(t, "GET", addr, "/status", map[string]string{"Authorization": bearer})
	var st map[string]int
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st["in"] != 42 {
		t.Fatalf("/status with the token: %d %q", code, body)
	}
}

// Without control.token, tajo generates one into data_dir (0600), keeps it
// across runs, and the CLI reads the same one.
func TestControlTokenIsGeneratedOnceAndPrivate(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadControlToken(dir); err == nil {
		t.Fatal("a token before any run")
	}
	tok, err := ControlToken(dir, "")
	if err != nil || len(tok) != 64 {
		t.Fatalf("generated token %q: %v", tok, err)
	}
	fi, err := os.Stat(filepath.Join(dir, ControlTokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", fi.Mode(), err)
	}
	again, err := ControlToken(dir, "")
	if err != nil || again != tok {
		t.Fatalf("second run: %q %v, want the same token", again, err)
	}
	if cli, err := ReadControlToken(dir); err != nil || cli != tok {
		t.Fatalf("the CLI reads %q %v", cli, err)
	}
	os.Chmod(filepath.Join(dir, ControlTokenFile), 0o644)
	ControlToken(dir, "")
	if fi, _ := os.Stat(filepath.Join(dir, ControlTokenFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("a readable token file is kept %v", fi.Mode())
	}
	if got, _ := ControlToken(dir, "configured-token-0123456789"); got != "configured-token-0123456789" {
		t.Fatalf("control.token set: got %q", got)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, ControlTokenFile+".*")); len(names) != 0 {
		t.Fatalf("temporary files left: %v", names)
	}
}

package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The webhook listener serves /healthz and what connectors mount, and
// nothing of the control API.
func TestWebhookListenerServesHealthAndMountsOnly(t *testing.T) {
	s := New("127.0.0.1:0", time.Second, time.Second)
	s.Mux.HandleFunc("POST /webhooks/test", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if code, body := get(t, addr, "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	resp, err := http.Post("http://"+addr+"/webhooks/test", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("mounted route: %v %v", resp, err)
	}
	for _, path := range []string{"/status", "/api/history", "/nope"} {
		if code, _ := get(t, addr, path); code != 404 {
			t.Errorf("%s on the webhook listener: %d, want 404", path, code)
		}
	}
}

func TestStartReportsBusyAddress(t *testing.T) {
	a := New("127.0.0.1:0", time.Second, time.Second)
	addr, err := a.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	b := New(addr, time.Second, time.Second)
	if _, err := b.Start(); err == nil || !strings.Contains(err.Error(), "server.listen") {
		t.Fatalf("want a server.listen error, got %v", err)
	}
}

func TestServeUntilStopsWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeUntil(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), ready)
	}()
	resp, err := http.Get("http://" + <-ready)
	if err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("served: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("a stop by context is not an error: %v", err)
	}
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Server is one HTTP listener: the webhook listener (New), which faces
// Shopify, or the control listener (NewControl).
type Server struct {
	Mux    *http.ServeMux
	srv    *http.Server
	ln     net.Listener
	key    string // the config key of its address, for errors
	port   atomic.Value
	status func() any
	token  [32]byte // the control token's SHA-256
	errs   chan error
}

// New returns the webhook listener (server.listen): it serves /healthz and
// what connectors mount for Shopify and the storefront, nothing else.
func New(addr string, readTimeout, writeTimeout time.Duration) *Server {
	s := newServer("server.listen", addr, readTimeout, writeTimeout)
	s.Mux.HandleFunc("GET /healthz", healthz)
	return s
}

func newServer(key, addr string, readTimeout, writeTimeout time.Duration) *Server {
	mux := http.NewServeMux()
	s := &Server{Mux: mux, key: key, errs: make(chan error, 1)}
	s.port.Store("")
	s.srv = &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadTimeout:       readTimeout,
		ReadHeaderTimeout: readTimeout,
		WriteTimeout:      writeTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	var body any = map[string]string{"status": "starting"}
	if s.status != nil {
		body = s.status()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

// Start listens and serves in the background; it returns the bound address.
func (s *Server) Start() (string, error) {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", s.key, s.srv.Addr, err)
	}
	s.ln = ln
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.port.Store(port)
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("http server: %w", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Err reports a failure of the server after Start.
func (s *Server) Err() <-chan error { return s.errs }

// Shutdown stops accepting requests and waits for those in progress.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// ServeUntil serves h on ln until ctx ends (then shuts down gracefully,
// waiting up to 5 s for requests in progress) or the server fails. ready,
// when set, receives the bound address once serving has begun. It is the
// run loop of the standalone simulators (`tajo dev …`).
func ServeUntil(ctx context.Context, ln net.Listener, h http.Handler, ready chan<- string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

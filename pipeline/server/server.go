package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is the host HTTP server.
type Server struct {
	Mux    *http.ServeMux
	srv    *http.Server
	ln     net.Listener
	status func() any
	errs   chan error
}

// New returns a server that will listen on addr; status, if non-nil,
// produces the body of GET /status.
func New(addr string, readTimeout, writeTimeout time.Duration, status func() any) *Server {
	mux := http.NewServeMux()
	s := &Server{Mux: mux, status: status, errs: make(chan error, 1)}
	s.srv = &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadTimeout:       readTimeout,
		ReadHeaderTimeout: readTimeout,
		WriteTimeout:      writeTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var body any = map[string]string{"status": "starting"}
		if s.status != nil {
			body = s.status()
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(body)
	})
	return s
}

// Start listens and serves in the background; it returns the bound address.
func (s *Server) Start() (string, error) {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return "", fmt.Errorf("server.listen %s: %w", s.srv.Addr, err)
	}
	s.ln = ln
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

package plugins

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// hookPlugin answers by path: /block waits for release, /late answers
// after ctx ended with a token, /fatal fails; anything else answers at
// once with the path as its token. It records the outcomes it is told.
type hookPlugin struct {
	WebhookOnly
	release chan struct{}

	mu       sync.Mutex
	outcomes map[string]int
}

func (h *hookPlugin) Specify(context.Context) (Spec, error)          { return Spec{Webhooks: true}, nil }
func (h *hookPlugin) Configure(context.Context, []byte) error        { return nil }
func (h *hookPlugin) TestConnection(context.Context) (string, error) { return "", nil }
func (h *hookPlugin) Teardown(context.Context) error                 { return nil }

func (h *hookPlugin) HandleWebhook(ctx context.Context, r WebhookRequest) (WebhookResponse, error) {
	switch r.Path {
	case "/block":
		select {
		case <-h.release:
		case <-ctx.Done():
			return WebhookResponse{}, ctx.Err()
		}
	case "/late":
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
	case "/fatal":
		return WebhookResponse{}, fmt.Errorf("%w: store uninstalled", ErrFatal)
	}
	return WebhookResponse{Status: http.StatusAccepted, Body: []byte(r.Path), DoneToken: []byte(r.Path)}, nil
}

func (h *hookPlugin) WebhookDone(_ context.Context, token []byte, status int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.outcomes[string(token)] = status
	return nil
}

func (h *hookPlugin) outcome(token string) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.outcomes[token]
	return s, ok
}

// unaryOnly is a plugin server built before the Webhooks stream.
type unaryOnly struct{ *grpcServer }

func (unaryOnly) Webhooks(sourcev1.Source_WebhooksServer) error {
	return status.Error(codes.Unimplemented, "method Webhooks not implemented")
}

// serveHooks serves srv on loopback and returns a host-side client.
func serveHooks(t *testing.T, srv sourcev1.SourceServer) *grpcClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	sourcev1.RegisterSourceServer(gs, srv)
	go gs.Serve(ln)
	conn, err := grpc.Dial(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c := newGRPCClient(conn)
	t.Cleanup(func() {
		c.closeWebhookStream(context.Background())
		conn.Close()
		gs.Stop()
	})
	return c
}

func newHookPlugin() *hookPlugin {
	return &hookPlugin{release: make(chan struct{}), outcomes: map[string]int{}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWebhookStreamAnswersEachWhenReady: a request the plugin holds (a
// copy of a delivery in flight waits for it) holds up no other request on
// the stream, and is answered once released.
func TestWebhookStreamAnswersEachWhenReady(t *testing.T) {
	p := newHookPlugin()
	c := serveHooks(t, &grpcServer{impl: p})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	blocked := make(chan error, 1)
	go func() {
		resp, err := c.HandleWebhook(ctx, WebhookRequest{Method: "POST", Path: "/block"})
		if err == nil && string(resp.Body) != "/block" {
			err = fmt.Errorf("body %q", resp.Body)
		}
		blocked <- err
	}()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/n%d", i)
			resp, err := c.HandleWebhook(ctx, WebhookRequest{Method: "POST", Path: path, Header: http.Header{"X-A": {"1", "2"}}})
			if err != nil || resp.Status != http.StatusAccepted || string(resp.Body) != path || string(resp.DoneToken) != path {
				t.Errorf("%s: %+v, %v", path, resp, err)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-blocked:
		t.Fatalf("the held request was answered before its release: %v", err)
	default:
	}
	close(p.release)
	if err := <-blocked; err != nil {
		t.Fatalf("the held request: %v", err)
	}
	if !c.hooks.answered.Load() || c.unaryHooks.Load() {
		t.Fatal("the requests did not go on the stream")
	}
}

// TestWebhookStreamKeepsTheErrorClass: an error from the plugin reaches
// the host with its class, as the unary call's did.
func TestWebhookStreamKeepsTheErrorClass(t *testing.T) {
	stream := serveHooks(t, &grpcServer{impl: newHookPlugin()})
	unary := serveHooks(t, unaryOnly{&grpcServer{impl: newHookPlugin()}})
	_, err := stream.HandleWebhook(context.Background(), WebhookRequest{Path: "/fatal"})
	_, uerr := unary.HandleWebhook(context.Background(), WebhookRequest{Path: "/fatal"})
	if !errors.Is(err, ErrFatal) || pipeline.ClassOf(err) != pipeline.Fatal || uerr == nil || err.Error() != uerr.Error() {
		t.Fatalf("got %v (class %s), want the plugin's fatal error as the unary call has it: %v", err, pipeline.ClassOf(err), uerr)
	}
}

// TestWebhookStreamReleasesAbandonedClaims: a request whose caller gave
// up (answered 503) is cancelled in the plugin, and when the plugin
// answered it anyway with a token, the plugin is told it was answered 503.
func TestWebhookStreamReleasesAbandonedClaims(t *testing.T) {
	p := newHookPlugin()
	c := serveHooks(t, &grpcServer{impl: p})
	if _, err := c.HandleWebhook(context.Background(), WebhookRequest{Path: "/warm"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.HandleWebhook(ctx, WebhookRequest{Path: "/late"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the caller's deadline", err)
	}
	waitFor(t, "the outcome of the abandoned request", func() bool { _, ok := p.outcome("/late"); return ok })
	if s, _ := p.outcome("/late"); s != http.StatusServiceUnavailable {
		t.Fatalf("abandoned request told %d, want 503", s)
	}
}

// TestWebhookStreamOutcomes: outcomes reach a WebhookFinisher, those
// queued when the stream closes (Teardown) included.
func TestWebhookStreamOutcomes(t *testing.T) {
	p := newHookPlugin()
	c := serveHooks(t, &grpcServer{impl: p})
	var tokens []string
	for i := range 20 {
		resp, err := c.HandleWebhook(context.Background(), WebhookRequest{Path: fmt.Sprintf("/t%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, string(resp.DoneToken))
	}
	for i, tk := range tokens {
		if err := c.WebhookDone(context.Background(), []byte(tk), 200+i); err != nil {
			t.Fatal(err)
		}
	}
	// Teardown right away: what was queued still arrives.
	c.closeWebhookStream(context.Background())
	waitFor(t, "every outcome", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.outcomes) == len(tokens)
	})
	for i, tk := range tokens {
		if s, _ := p.outcome(tk); s != 200+i {
			t.Fatalf("%s told %d, want %d", tk, s, 200+i)
		}
	}
}

// TestWebhookStreamFallsBackToUnary: a plugin built before the stream
// gets every request and outcome as unary calls, none lost.
func TestWebhookStreamFallsBackToUnary(t *testing.T) {
	p := newHookPlugin()
	c := serveHooks(t, unaryOnly{&grpcServer{impl: p}})
	var got []string
	for _, path := range []string{"/a", "/b"} {
		resp, err := c.HandleWebhook(context.Background(), WebhookRequest{Path: path})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got = append(got, string(resp.Body))
		if err := c.WebhookDone(context.Background(), resp.DoneToken, http.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, []string{"/a", "/b"}) || !c.unaryHooks.Load() {
		t.Fatalf("answers %q, unary %v", got, c.unaryHooks.Load())
	}
	for _, tk := range []string{"/a", "/b"} {
		if s, ok := p.outcome(tk); !ok || s != http.StatusOK {
			t.Fatalf("%s: outcome %d %v", tk, s, ok)
		}
	}
}

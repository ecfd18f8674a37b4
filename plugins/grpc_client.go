package plugins

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// grpcClient is the host's view of a plugin process: a SourcePlugin whose
// calls cross gRPC. The Run stream starts with Open and ends with Teardown.
type grpcClient struct {
	conn   *grpc.ClientConn
	client sourcev1.SourceClient

	mu  sync.Mutex // guards run
	run *runStream

	hookMu     sync.Mutex // guards hooks
	hooks      *hookStream
	unaryHooks atomic.Bool // the plugin serves no Webhooks stream
}

var _ SourcePlugin = (*grpcClient)(nil)

func newGRPCClient(c *grpc.ClientConn) *grpcClient {
	return &grpcClient{conn: c, client: sourcev1.NewSourceClient(c)}
}

// runStream is one Run call. A pump goroutine receives from it so that Read
// can honour its context without abandoning a half-received message.
type runStream struct {
	stream sourcev1.Source_RunClient
	cancel context.CancelFunc
	out    chan []Record
	eos    chan struct{} // closed when the plugin reported end_of_stream
	done   chan struct{} // closed when the stream failed or ended
	err    error         // why, set before done is closed
	ended  atomic.Bool   // Read already returned io.EOF
	sendMu sync.Mutex    // gRPC allows one Send at a time
}

func (c *grpcClient) Specify(ctx context.Context) (Spec, error) {
	r, err := c.client.Specify(ctx, &sourcev1.SpecifyRequest{})
	if err != nil {
		return Spec{}, fromStatus(ctx, err)
	}
	return Spec{Name: r.Name, Version: r.Version, Summary: r.Summary, Webhooks: r.Webhooks, ConfigSchema: r.ConfigSchema, Signing: signingFromProto(r.WebhookSigning), Dedupe: dedupeFromProto(r.WebhookDedupe)}, nil
}

func (c *grpcClient) Configure(ctx context.Context, config []byte) error {
	_, err := c.client.Configure(ctx, &sourcev1.ConfigureRequest{ConfigJson: config})
	return fromStatus(ctx, err)
}

func (c *grpcClient) Open(ctx context.Context, position []byte) error {
	if _, err := c.client.Open(ctx, &sourcev1.OpenRequest{Position: position}); err != nil {
		return fromStatus(ctx, err)
	}
	// The stream outlives Open's context: it lasts until Teardown or until
	// the process dies.
	sctx, cancel := context.WithCancel(context.Background())
	stream, err := c.client.Run(sctx)
	if err != nil {
		cancel()
		return fromStatus(ctx, err)
	}
	r := &runStream{stream: stream, cancel: cancel, out: make(chan []Record), eos: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	old := c.run
	c.run = r
	c.mu.Unlock()
	if old != nil {
		old.cancel()
	}
	go r.pump(sctx)
	return nil
}

func (r *runStream) pump(ctx context.Context) {
	defer close(r.done)
	for {
		resp, err := r.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = pipeline.Retry(&remoteError{kind: ErrUnavailable, msg: "run stream ended"})
			} else {
				err = fromStatus(context.Background(), err)
			}
			r.err = err
			return
		}
		if resp.EndOfStream {
			select {
			case <-r.eos: // a plugin repeating itself
			default:
				close(r.eos)
			}
			continue
		}
		if len(resp.Records) == 0 {
			continue
		}
		select {
		case r.out <- fromProtoRecords(resp.Records):
		case <-ctx.Done():
			r.err = pipeline.Retry(&remoteError{kind: ErrUnavailable, msg: "run stream closed"})
			return
		}
	}
}

func (c *grpcClient) current() *runStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run
}

func (c *grpcClient) Read(ctx context.Context) ([]Record, error) {
	r := c.current()
	if r == nil {
		return nil, errors.New("plugins: Read before Open")
	}
	if r.ended.Load() {
		return nil, io.EOF
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case recs := <-r.out:
		return recs, nil
	case <-r.eos:
		r.ended.Store(true)
		return nil, io.EOF
	case <-r.done:
		return nil, r.err
	}
}

func (c *grpcClient) Ack(ctx context.Context, positions [][]byte) error {
	r := c.current()
	if r == nil {
		return errors.New("plugins: Ack before Open")
	}
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	if err := r.stream.Send(&sourcev1.RunRequest{AckPositions: positions}); err != nil {
		// Send reports io.EOF when the stream is broken; the real status
		// comes from Recv, which the pump records.
		select {
		case <-r.done:
			return r.err
		default:
			return fromStatus(ctx, err)
		}
	}
	return nil
}

// HandleWebhook goes on the Webhooks stream (grpc_webhooks.go), or as a
// unary call to a plugin that serves no such stream.
func (c *grpcClient) HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	if !c.unaryHooks.Load() {
		if h, err := c.webhookStream(); err == nil {
			resp, err := h.call(ctx, req)
			if !errors.Is(err, errNoWebhookStream) {
				return resp, err
			}
			c.unaryHooks.Store(true)
		}
	}
	r, err := c.client.HandleWebhook(ctx, toProtoWebhookRequest(req))
	if err != nil {
		return WebhookResponse{}, fromStatus(ctx, err)
	}
	return fromProtoWebhookResponse(r), nil
}

var _ WebhookFinisher = (*grpcClient)(nil)

// WebhookDone goes on the Webhooks stream once the plugin has answered
// on it, else as a unary call, which ignores UNIMPLEMENTED: a plugin
// built before the call exists has nothing to learn from it.
func (c *grpcClient) WebhookDone(ctx context.Context, token []byte, status int) error {
	if !c.unaryHooks.Load() {
		if h, err := c.webhookStream(); err == nil && h.answered.Load() {
			h.finish(token, status)
			return nil
		}
	}
	_, err := c.client.WebhookDone(ctx, &sourcev1.WebhookDoneRequest{Token: token, Status: int32(status)})
	if st, ok := grpcstatus.FromError(err); ok && st.Code() == codes.Unimplemented {
		return nil
	}
	return fromStatus(ctx, err)
}

func (c *grpcClient) TestConnection(ctx context.Context) (string, error) {
	r, err := c.client.TestConnection(ctx, &sourcev1.TestConnectionRequest{})
	if err != nil {
		return "", fromStatus(ctx, err)
	}
	return r.Message, nil
}

func (c *grpcClient) Stop(ctx context.Context) error {
	_, err := c.client.Stop(ctx, &sourcev1.StopRequest{})
	return fromStatus(ctx, err)
}

// Teardown ends the Run stream first, so the plugin's Run handler returns
// and the process can exit without being killed. Cancelling (rather than
// CloseSend, which would queue behind an Ack blocked on a frozen plugin)
// cannot hang.
func (c *grpcClient) Teardown(ctx context.Context) error {
	c.mu.Lock()
	r := c.run
	c.run = nil
	c.mu.Unlock()
	if r != nil {
		r.cancel()
	}
	c.closeWebhookStream(ctx)
	_, err := c.client.Teardown(ctx, &sourcev1.TeardownRequest{})
	return fromStatus(ctx, err)
}

// ping asks the plugin's gRPC health service, which go-plugin registers in
// every plugin server. Unlike go-plugin's own Ping it honours ctx, so a
// frozen process fails the check instead of hanging it.
func (c *grpcClient) ping(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return err
}

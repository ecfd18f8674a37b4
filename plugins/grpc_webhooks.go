package plugins

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// Webhooks cross the process boundary on one long-lived bidirectional
// stream (the Webhooks RPC) instead of one unary HandleWebhook and one
// WebhookDone call each. A unary call costs a new HTTP/2 stream with its
// header frames on both sides and a fresh goroutine in the plugin whose
// stack grows through the JSON decoder every time; under load that was
// about a third of the plugin's CPU and a fifth of the host's. On the
// stream, calls that arrive together travel in one message, each answer
// travels as soon as it is ready (a call waiting in the plugin, e.g. for
// a concurrent copy of its delivery, holds up no other), and the plugin
// judges calls on a few long-lived goroutines.
//
// The contract is the unary one: each call gets the response or the
// error HandleWebhook returned, within the caller's deadline, which
// travels with the call.

// errNoWebhookStream means the plugin does not serve the Webhooks RPC
// (built before it): the call was not judged and goes unary instead.
var errNoWebhookStream = errors.New("plugin serves no webhook stream")

// hookStream is the host's side of one Webhooks stream.
type hookStream struct {
	stream sourcev1.Source_WebhooksClient
	cancel context.CancelFunc
	wake   chan struct{} // one pending wake-up for the sender
	done   chan struct{} // closed once the stream failed
	err    error         // why, set before done is closed
	// answered is set by the first message from the plugin: from then on
	// the plugin is known to serve the stream, and an outcome sent on it
	// is not lost to an older plugin that would ignore the stream.
	answered atomic.Bool

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan *sourcev1.WebhookResult
	out     *sourcev1.WebhookStreamRequest // what the next Send carries
	closing bool                           // Teardown: send what is queued, then close
}

// webhookStream returns the open stream, opening one when there is none
// or the last one failed.
func (c *grpcClient) webhookStream() (*hookStream, error) {
	c.hookMu.Lock()
	defer c.hookMu.Unlock()
	if h := c.hooks; h != nil {
		select {
		case <-h.done:
		default:
			return h, nil
		}
	}
	// Like the Run stream, it outlives any one request: it lasts until
	// Teardown or until the process dies.
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.client.Webhooks(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	h := &hookStream{
		stream: st, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{}),
		waiting: map[uint64]chan *sourcev1.WebhookResult{}, out: &sourcev1.WebhookStreamRequest{},
	}
	go h.send()
	go h.recv()
	c.hooks = h
	return h, nil
}

// closeWebhookStream ends the stream (Teardown). The outcomes queued by
// then are sent first, within ctx and at most closeFlushTimeout: a
// WebhookFinisher is told how each of its deliveries was answered.
func (c *grpcClient) closeWebhookStream(ctx context.Context) {
	c.hookMu.Lock()
	h := c.hooks
	c.hooks = nil
	c.hookMu.Unlock()
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	h.poke()
	t := time.NewTimer(closeFlushTimeout)
	defer t.Stop()
	select {
	case <-h.done:
	case <-ctx.Done():
	case <-t.C:
	}
	h.cancel()
}

const closeFlushTimeout = 2 * time.Second

var errStreamClosing = pipeline.Retry(&remoteError{kind: ErrUnavailable, msg: "plugin stopping"})

func (h *hookStream) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// call sends one request and waits for its answer.
func (h *hookStream) call(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	var timeout time.Duration
	if d, ok := ctx.Deadline(); ok {
		if timeout = time.Until(d); timeout <= 0 {
			return WebhookResponse{}, ctx.Err()
		}
	}
	ch := make(chan *sourcev1.WebhookResult, 1)
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return WebhookResponse{}, errStreamClosing
	}
	h.next++
	id := h.next
	h.waiting[id] = ch
	h.out.Calls = append(h.out.Calls, &sourcev1.WebhookCall{Id: id, Request: toProtoWebhookRequest(req), TimeoutNanos: int64(timeout)})
	h.mu.Unlock()
	h.poke()
	select {
	case r := <-ch:
		return fromWebhookResult(ctx, r)
	case <-h.done:
		select {
		case r := <-ch: // answered just before the stream failed
			return fromWebhookResult(ctx, r)
		default:
			return WebhookResponse{}, h.err
		}
	case <-ctx.Done():
		h.mu.Lock()
		_, waiting := h.waiting[id]
		delete(h.waiting, id)
		if waiting {
			h.unqueue(id)
		}
		h.mu.Unlock()
		if waiting {
			h.poke()
		} else {
			// Answered meanwhile, but this request answers 503: the
			// plugin is told so, as the host would have told it.
			h.release(<-ch)
		}
		return WebhookResponse{}, ctx.Err()
	}
}

// unqueue drops call id from the next message or, when it was sent,
// asks the plugin to cancel it; h.mu is held.
func (h *hookStream) unqueue(id uint64) {
	for i, c := range h.out.Calls {
		if c.Id == id {
			h.out.Calls = slices.Delete(h.out.Calls, i, i+1)
			return
		}
	}
	h.out.Cancel = append(h.out.Cancel, id)
}

// finish queues the outcome of a response that carried a token.
func (h *hookStream) finish(token []byte, status int) {
	h.mu.Lock()
	h.out.Done = append(h.out.Done, &sourcev1.WebhookDoneRequest{Token: token, Status: int32(status)})
	h.mu.Unlock()
	h.poke()
}

// release answers 503 for a result nobody waits for any more.
func (h *hookStream) release(r *sourcev1.WebhookResult) {
	if r != nil && r.Response != nil && len(r.Response.DoneToken) > 0 {
		h.finish(r.Response.DoneToken, http.StatusServiceUnavailable)
	}
}

// send sends whatever is queued, in one message: what arrives while a
// Send is in progress goes together in the next one.
func (h *hookStream) send() {
	for {
		select {
		case <-h.wake:
		case <-h.done:
			return
		}
		// Let the handlers that are about to queue a call do so first:
		// under load, one message then carries several calls.
		runtime.Gosched()
		h.mu.Lock()
		msg, closing := h.out, h.closing
		h.out = &sourcev1.WebhookStreamRequest{}
		h.mu.Unlock()
		if len(msg.Calls)+len(msg.Done)+len(msg.Cancel) > 0 {
			if err := h.stream.Send(msg); err != nil {
				// The stream is over; Recv reports why and fails the
				// waiters.
				return
			}
		}
		if closing {
			// Nothing is queued after closing but outcomes of answers
			// still arriving, which would have no process to go to.
			_ = h.stream.CloseSend()
			return
		}
	}
}

// recv hands each answer to its caller until the stream fails.
func (h *hookStream) recv() {
	for {
		resp, err := h.stream.Recv()
		if err != nil {
			h.fail(err)
			return
		}
		h.answered.Store(true)
		var orphans []*sourcev1.WebhookResult
		h.mu.Lock()
		for _, r := range resp.Results {
			if ch, ok := h.waiting[r.Id]; ok {
				delete(h.waiting, r.Id)
				ch <- r
			} else {
				orphans = append(orphans, r)
			}
		}
		h.mu.Unlock()
		for _, r := range orphans {
			h.release(r)
		}
	}
}

func (h *hookStream) fail(err error) {
	switch {
	case status.Code(err) == codes.Unimplemented:
		err = errNoWebhookStream
	case errors.Is(err, io.EOF):
		err = pipeline.Retry(&remoteError{kind: ErrUnavailable, msg: "webhook stream ended"})
	default:
		err = fromStatus(context.Background(), err)
	}
	h.err = err
	close(h.done)
	h.cancel()
}

func fromWebhookResult(ctx context.Context, r *sourcev1.WebhookResult) (WebhookResponse, error) {
	if r.ErrorCode != 0 {
		return WebhookResponse{}, fromStatus(ctx, status.Error(codes.Code(r.ErrorCode), r.ErrorMessage))
	}
	return fromProtoWebhookResponse(r.Response), nil
}

// Calls are judged by worker goroutines that live as long as the stream,
// so each keeps the stack it grew (a fresh goroutine per call grows its
// stack through the JSON decoder every time: a tenth of the plugin's CPU).
// A call arriving while every worker is busy starts another one, so a call
// that waits (for a concurrent copy of its delivery, for the Admin API)
// never holds up the others; beyond maxWebhookWorkers, such a call gets a
// goroutine of its own that ends with it.
const maxWebhookWorkers = 256

// hookServer is the plugin's side of one Webhooks stream.
type hookServer struct {
	impl    SourcePlugin
	ctx     context.Context
	work    chan *sourcev1.WebhookCall // to an idle worker
	workers int                        // started; the receive loop's only
	results chan *sourcev1.WebhookResult

	mu      sync.Mutex
	cancels map[uint64]context.CancelFunc
}

// maxResultsPerMessage bounds one answer message (each result carries a
// record of up to a few MB in the worst case; typically 2-5 KB).
const maxResultsPerMessage = 64

func (s *grpcServer) Webhooks(stream sourcev1.Source_WebhooksServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	w := &hookServer{
		impl: s.impl, ctx: ctx, work: make(chan *sourcev1.WebhookCall),
		results: make(chan *sourcev1.WebhookResult, maxResultsPerMessage), cancels: map[uint64]context.CancelFunc{},
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- w.send(stream) }()
	finisher, _ := s.impl.(WebhookFinisher)
	for {
		req, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the host closed its side
			}
			return err
		}
		if finisher != nil {
			for _, d := range req.Done {
				// Concurrently, as the unary calls were.
				go func() {
					dctx, dcancel := context.WithTimeout(context.Background(), doneTimeout)
					defer dcancel()
					_ = finisher.WebhookDone(dctx, d.Token, int(d.Status))
				}()
			}
		}
		for _, id := range req.Cancel {
			w.mu.Lock()
			if c := w.cancels[id]; c != nil {
				c()
			}
			w.mu.Unlock()
		}
		for _, c := range req.Calls {
			w.dispatch(c)
		}
		select {
		case err := <-sendErr:
			return err
		default:
		}
	}
}

// dispatch hands c to an idle worker, else to a new one.
func (w *hookServer) dispatch(c *sourcev1.WebhookCall) {
	select {
	case w.work <- c:
		return
	default:
	}
	if w.workers == maxWebhookWorkers {
		go w.run(c)
		return
	}
	w.workers++
	go func() {
		w.run(c)
		for {
			select {
			case c := <-w.work:
				w.run(c)
			case <-w.ctx.Done():
				return
			}
		}
	}()
}

// run judges one call and queues its answer.
func (w *hookServer) run(c *sourcev1.WebhookCall) {
	var ctx context.Context
	var cancel context.CancelFunc
	if c.TimeoutNanos > 0 {
		ctx, cancel = context.WithTimeout(w.ctx, time.Duration(c.TimeoutNanos))
	} else {
		ctx, cancel = context.WithCancel(w.ctx)
	}
	w.mu.Lock()
	w.cancels[c.Id] = cancel
	w.mu.Unlock()
	resp, err := w.impl.HandleWebhook(ctx, fromProtoWebhookRequest(c.Request))
	w.mu.Lock()
	delete(w.cancels, c.Id)
	w.mu.Unlock()
	cancel()
	r := &sourcev1.WebhookResult{Id: c.Id}
	if err != nil {
		st := status.Convert(toStatus(err))
		r.ErrorCode, r.ErrorMessage = int32(st.Code()), st.Message()
		if st.Code() == codes.OK {
			r.ErrorCode = int32(codes.Unknown)
		}
	} else {
		r.Response = toProtoWebhookResponse(resp)
	}
	select {
	case w.results <- r:
	case <-w.ctx.Done():
	}
}

// send answers calls as they are judged, those ready together in one
// message.
func (w *hookServer) send(stream sourcev1.Source_WebhooksServer) error {
	for {
		var r *sourcev1.WebhookResult
		select {
		case r = <-w.results:
		case <-w.ctx.Done():
			return nil
		}
		msg := &sourcev1.WebhookStreamResponse{Results: []*sourcev1.WebhookResult{r}}
		runtime.Gosched() // as the host's sender: workers about to finish go along
	more:
		for len(msg.Results) < maxResultsPerMessage {
			select {
			case r := <-w.results:
				msg.Results = append(msg.Results, r)
			default:
				break more
			}
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

package plugins

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// grpcServer serves a SourcePlugin inside the plugin process.
type grpcServer struct {
	sourcev1.UnimplementedSourceServer
	impl SourcePlugin
}

func (s *grpcServer) Specify(ctx context.Context, _ *sourcev1.SpecifyRequest) (*sourcev1.SpecifyResponse, error) {
	sp, err := s.impl.Specify(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &sourcev1.SpecifyResponse{Name: sp.Name, Version: sp.Version, Summary: sp.Summary, Webhooks: sp.Webhooks, ConfigSchema: sp.ConfigSchema, WebhookSigning: signingToProto(sp.Signing), WebhookDedupe: dedupeToProto(sp.Dedupe)}, nil
}

func (s *grpcServer) Configure(ctx context.Context, req *sourcev1.ConfigureRequest) (*sourcev1.ConfigureResponse, error) {
	return &sourcev1.ConfigureResponse{}, toStatus(s.impl.Configure(ctx, req.ConfigJson))
}

func (s *grpcServer) Open(ctx context.Context, req *sourcev1.OpenRequest) (*sourcev1.OpenResponse, error) {
	return &sourcev1.OpenResponse{}, toStatus(s.impl.Open(ctx, req.Position))
}

// Run pumps Read into the stream and the stream's acks into Ack. gRPC flow
// control is the back-pressure: Send blocks while the host is not reading,
// so a plugin never gets far ahead of the pipeline.
func (s *grpcServer) Run(stream sourcev1.Source_RunServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil // the host closed its side: the run is over
				}
				errc <- err
				return
			}
			if len(req.AckPositions) > 0 {
				if err := s.impl.Ack(ctx, req.AckPositions); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	go func() {
		for {
			recs, err := s.impl.Read(ctx)
			if errors.Is(err, io.EOF) {
				if err := stream.Send(&sourcev1.RunResponse{EndOfStream: true}); err != nil {
					errc <- err
				}
				return // acks keep arriving until the host closes its side
			}
			if err != nil {
				if ctx.Err() == nil {
					errc <- err
				}
				return
			}
			if len(recs) == 0 {
				continue
			}
			if err := stream.Send(&sourcev1.RunResponse{Records: toProtoRecords(recs)}); err != nil {
				errc <- err
				return
			}
		}
	}()
	return toStatus(<-errc)
}

func (s *grpcServer) HandleWebhook(ctx context.Context, req *sourcev1.WebhookRequest) (*sourcev1.WebhookResponse, error) {
	resp, err := s.impl.HandleWebhook(ctx, fromProtoWebhookRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoWebhookResponse(resp), nil
}

func toProtoWebhookRequest(r WebhookRequest) *sourcev1.WebhookRequest {
	return &sourcev1.WebhookRequest{
		Method: r.Method, Path: r.Path, RawQuery: r.RawQuery,
		Headers: toProtoHeader(r.Header), Body: r.Body, RemoteAddr: r.RemoteAddr,
	}
}

func fromProtoWebhookRequest(r *sourcev1.WebhookRequest) WebhookRequest {
	return WebhookRequest{
		Method: r.Method, Path: r.Path, RawQuery: r.RawQuery,
		Header: fromProtoHeader(r.Headers), Body: r.Body, RemoteAddr: r.RemoteAddr,
	}
}

func toProtoWebhookResponse(r WebhookResponse) *sourcev1.WebhookResponse {
	return &sourcev1.WebhookResponse{
		Status: int32(r.Status), Headers: toProtoHeader(r.Header), Body: r.Body,
		Records: toProtoRecords(r.Records), Info: toProtoInfo(r.Info), DoneToken: r.DoneToken,
	}
}

func fromProtoWebhookResponse(r *sourcev1.WebhookResponse) WebhookResponse {
	if r == nil {
		return WebhookResponse{}
	}
	return WebhookResponse{
		Status: int(r.Status), Header: fromProtoHeader(r.Headers), Body: r.Body,
		Records: fromProtoRecords(r.Records), Info: fromProtoInfo(r.Info), DoneToken: r.DoneToken,
	}
}

func (s *grpcServer) WebhookDone(ctx context.Context, req *sourcev1.WebhookDoneRequest) (*sourcev1.WebhookDoneResponse, error) {
	if f, ok := s.impl.(WebhookFinisher); ok {
		if err := f.WebhookDone(ctx, req.Token, int(req.Status)); err != nil {
			return nil, toStatus(err)
		}
	}
	return &sourcev1.WebhookDoneResponse{}, nil
}

func toProtoInfo(i WebhookInfo) *sourcev1.WebhookInfo {
	if i == (WebhookInfo{}) {
		return nil
	}
	return &sourcev1.WebhookInfo{Shop: i.Shop, Topic: i.Topic, WebhookId: i.WebhookID, ApiVersion: i.APIVersion, Hmac: i.HMAC}
}

func fromProtoInfo(i *sourcev1.WebhookInfo) WebhookInfo {
	if i == nil {
		return WebhookInfo{}
	}
	return WebhookInfo{Shop: i.Shop, Topic: i.Topic, WebhookID: i.WebhookId, APIVersion: i.ApiVersion, HMAC: i.Hmac}
}

func (s *grpcServer) TestConnection(ctx context.Context, _ *sourcev1.TestConnectionRequest) (*sourcev1.TestConnectionResponse, error) {
	msg, err := s.impl.TestConnection(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &sourcev1.TestConnectionResponse{Message: msg}, nil
}

func (s *grpcServer) Stop(ctx context.Context, _ *sourcev1.StopRequest) (*sourcev1.StopResponse, error) {
	return &sourcev1.StopResponse{}, toStatus(s.impl.Stop(ctx))
}

func (s *grpcServer) Teardown(ctx context.Context, _ *sourcev1.TeardownRequest) (*sourcev1.TeardownResponse, error) {
	return &sourcev1.TeardownResponse{}, toStatus(s.impl.Teardown(ctx))
}

// toStatus carries the error class across the process boundary in the
// status code; the message travels as text.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, ErrInvalidConfig):
		code = codes.InvalidArgument
	case errors.Is(err, ErrFatal), pipeline.ClassOf(err) == pipeline.Fatal:
		code = codes.FailedPrecondition
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// fromStatus turns a failed call back into a classified error the engine
// understands: configuration and fatal errors stop the pipeline, anything
// else (including a dead plugin) is retryable.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	st, ok := status.FromError(err)
	if !ok {
		return pipeline.Retry(err)
	}
	switch st.Code() {
	case codes.InvalidArgument:
		return pipeline.Stop(&remoteError{kind: ErrInvalidConfig, msg: st.Message()})
	case codes.FailedPrecondition:
		return pipeline.Stop(&remoteError{kind: ErrFatal, msg: st.Message()})
	case codes.Unavailable, codes.Canceled:
		return pipeline.Retry(&remoteError{kind: ErrUnavailable, msg: st.Message()})
	}
	return pipeline.Retry(errors.New(st.Message()))
}

// remoteError is an error that crossed the process boundary: its message is
// the plugin's, and errors.Is still finds the kind.
type remoteError struct {
	kind error
	msg  string
}

func (e *remoteError) Error() string {
	if e.kind == ErrUnavailable {
		return "plugin unavailable: " + e.msg
	}
	return e.msg
}

func (e *remoteError) Unwrap() error { return e.kind }

func toProtoRecords(recs []Record) []*sourcev1.Record {
	if len(recs) == 0 {
		return nil
	}
	out := make([]*sourcev1.Record, len(recs))
	for i, r := range recs {
		var ts int64
		if !r.Time.IsZero() {
			ts = r.Time.UnixNano()
		}
		out[i] = &sourcev1.Record{Key: r.Key, Value: r.Value, TimeUnixNano: ts, Position: r.Position}
	}
	return out
}

func fromProtoRecords(recs []*sourcev1.Record) []Record {
	if len(recs) == 0 {
		return nil
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		var t time.Time
		if r.TimeUnixNano != 0 {
			t = time.Unix(0, r.TimeUnixNano).UTC()
		}
		out[i] = Record{Key: r.Key, Value: r.Value, Time: t, Position: r.Position}
	}
	return out
}

func toProtoHeader(h http.Header) []*sourcev1.Header {
	if len(h) == 0 {
		return nil
	}
	out := make([]*sourcev1.Header, 0, len(h))
	for k, v := range h {
		out = append(out, &sourcev1.Header{Name: k, Values: v})
	}
	return out
}

func fromProtoHeader(hs []*sourcev1.Header) http.Header {
	h := make(http.Header, len(hs))
	for _, x := range hs {
		for _, v := range x.Values {
			h.Add(x.Name, v)
		}
	}
	return h
}

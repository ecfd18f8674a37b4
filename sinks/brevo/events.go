package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// Identifiers says which contact an event belongs to; at least one is
// required, and Brevo gives ContactID priority over the others.
type Identifiers struct {
	ContactID int64  `json:"contact_id,omitempty"`
	EmailID   string `json:"email_id,omitempty"`
	ExtID     string `json:"ext_id,omitempty"`
	PhoneID   string `json:"phone_id,omitempty"`
}

func (id Identifiers) empty() bool {
	return id.ContactID == 0 && id.EmailID == "" && id.ExtID == "" && id.PhoneID == ""
}

// Event is one custom event of POST /events and /events/batch.
type Event struct {
	Name        string      `json:"event_name"`
	Identifiers Identifiers `json:"identifiers"`
	// Date is when it happened; zero lets Brevo use the time of receipt,
	// which is wrong for anything replayed, so set it.
	Date              time.Time      `json:"event_date,omitzero"`
	ContactProperties map[string]any `json:"contact_properties,omitempty"`
	EventProperties   map[string]any `json:"event_properties,omitempty"`
}

// wireEvent is Event with its properties already encoded.
type wireEvent struct {
	Name              string          `json:"event_name"`
	Identifiers       Identifiers     `json:"identifiers"`
	Date              time.Time       `json:"event_date,omitzero"`
	ContactProperties map[string]any  `json:"contact_properties,omitempty"`
	EventProperties   json.RawMessage `json:"event_properties,omitempty"`
}

// validName mirrors Brevo's rule for event names: ≤255 of [A-Za-z0-9_-].
func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

// encodeEvent validates e and returns its JSON, or a Rejected error that
// says why Brevo could never accept it. Checking here keeps one oversized
// event from failing (or splitting) a whole batch.
func (c *Client) encodeEvent(e *Event) ([]byte, error) {
	if !validName(e.Name) {
		return nil, pipeline.Reject(CodeInvalidEvent, fmt.Errorf(
			"brevo event name %q: must be 1-255 characters of letters, digits, '-' and '_'", truncate(e.Name, 80)))
	}
	if e.Identifiers.empty() {
		return nil, pipeline.Reject(CodeInvalidEvent, fmt.Errorf(
			"brevo event %s: no identifier (email_id, ext_id, phone_id or contact_id)", e.Name))
	}
	// The properties are encoded once, measured, and embedded as they are.
	w := wireEvent{Name: e.Name, Identifiers: e.Identifiers, Date: e.Date, ContactProperties: e.ContactProperties}
	if len(e.EventProperties) > 0 {
		p, err := jsonMarshal(e.EventProperties)
		if err != nil {
			return nil, pipeline.Reject(CodeInvalidEvent, fmt.Errorf("brevo event %s: event_properties: %w", e.Name, err))
		}
		if len(p) > MaxEventPropsBytes {
			return nil, pipeline.Reject(CodeEventTooLarge, fmt.Errorf(
				"brevo event %s: event_properties are %d bytes encoded, over Brevo's 50 KB limit", e.Name, len(p)))
		}
		w.EventProperties = p
	}
	b, err := jsonMarshal(w)
	if err != nil {
		return nil, pipeline.Reject(CodeInvalidEvent, fmt.Errorf("brevo event %s: %w", e.Name, err))
	}
	if len(b)+len(batchPrefix)+len(batchSuffix) > c.eventMax {
		return nil, pipeline.Reject(CodeEventTooLarge, fmt.Errorf(
			"brevo event %s: %d bytes encoded, over the %d-byte request limit", e.Name, len(b), c.eventMax))
	}
	return b, nil
}

// SendEvent posts one event (POST /events → 204).
func (c *Client) SendEvent(ctx context.Context, e Event) error {
	b, err := c.encodeEvent(&e)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPost, route: "POST /events", path: "/events", body: b})
	return err
}

const (
	batchPrefix = `{"events":[`
	batchSuffix = `]}`
)

// batchEventsResponse is the body of a 207 (some events failed) or of a 400
// where every event failed.
type batchEventsResponse struct {
	Status           string `json:"status"`
	TotalEvents      int    `json:"total_events"`
	SuccessfulEvents int    `json:"successful_events"`
	FailedEvents     int    `json:"failed_events"`
	Errors           []struct {
		EventIndex []int  `json:"eventIndex"`
		Message    string `json:"message"`
	} `json:"errors"`
}

// SendEvents posts events through /events/batch, split so that no request
// holds more than MaxEventsPerBatch events or EventBatchMaxBytes bytes.
//
// Events are not idempotent in Brevo (a replayed event counts twice), so the
// outcome is per event: nil when every event was accepted; the one error
// when none was and they all share it; otherwise a *pipeline.BatchError whose
// Errs[i] is the outcome of events[i]. Events Brevo refused in a 207 are
// Rejected with Brevo's message. After a Retryable or Fatal failure of one
// request, later requests are not sent and their events carry that error.
func (c *Client) SendEvents(ctx context.Context, events []Event) error {
	return c.sendEvents(ctx, events, eventHooks{})
}

// eventHooks let the sink keep its sent log around each request (indexes
// are into the events given to sendEvents); any may be nil.
type eventHooks struct {
	// before runs just before a request leaves; an error keeps it from
	// leaving and becomes the outcome of its events.
	before func(idx []int) error
	// answered runs as soon as Brevo answered a request, with the events
	// it accepted and those it refused; an error becomes the outcome of
	// the accepted ones.
	answered func(accepted, refused []int) error
	// failed runs when a request got no usable answer.
	failed func(idx []int, err error)
}

// sendEvents is SendEvents with hooks around each request.
func (c *Client) sendEvents(ctx context.Context, events []Event, h eventHooks) error {
	errs := make([]error, len(events))
	raw := make([][]byte, len(events))
	var pending []int
	for i := range events {
		b, err := c.encodeEvent(&events[i])
		if err != nil {
			errs[i] = err
			continue
		}
		raw[i] = b
		pending = append(pending, i)
	}

	var stop error
	for _, idx := range c.packEvents(raw, pending) {
		if stop != nil {
			for _, i := range idx {
				errs[i] = stop
			}
			continue
		}
		if err := c.sendEventBatch(ctx, raw, idx, errs, h); err != nil {
			if h.failed != nil {
				h.failed(idx, err)
			}
			if pipeline.ClassOf(err) == pipeline.Rejected {
				for _, i := range idx {
					errs[i] = err
				}
				continue
			}
			stop = err
			for _, i := range idx {
				errs[i] = err
			}
		}
	}
	return batchOutcome(errs)
}

// packEvents groups pending event indexes into requests within both limits.
func (c *Client) packEvents(raw [][]byte, pending []int) [][]int {
	var out [][]int
	var cur []int
	size := len(batchPrefix) + len(batchSuffix)
	for _, i := range pending {
		add := len(raw[i])
		if len(cur) > 0 {
			add++ // comma
		}
		if len(cur) == MaxEventsPerBatch || (len(cur) > 0 && size+add > c.eventMax) {
			out = append(out, cur)
			cur, size = nil, len(batchPrefix)+len(batchSuffix)
			add = len(raw[i])
		}
		cur = append(cur, i)
		size += add
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// EncodeEventBatch returns the request bodies SendEvents would send for
// events, in order (rejected events are left out). It exists for tests and
// benchmarks of the packing.
func (c *Client) EncodeEventBatch(events []Event) ([][]byte, error) {
	raw := make([][]byte, len(events))
	var pending []int
	for i := range events {
		b, err := c.encodeEvent(&events[i])
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		raw[i] = b
		pending = append(pending, i)
	}
	var bodies [][]byte
	for _, idx := range c.packEvents(raw, pending) {
		bodies = append(bodies, batchBody(raw, idx))
	}
	return bodies, nil
}

func batchBody(raw [][]byte, idx []int) []byte {
	n := len(batchPrefix) + len(batchSuffix) + len(idx)
	for _, i := range idx {
		n += len(raw[i])
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	buf.WriteString(batchPrefix)
	for k, i := range idx {
		if k > 0 {
			buf.WriteByte(',')
		}
		buf.Write(raw[i])
	}
	buf.WriteString(batchSuffix)
	return buf.Bytes()
}

// sendEventBatch sends one request. Per-event refusals are written to errs;
// a returned error applies to every event of the request.
func (c *Client) sendEventBatch(ctx context.Context, raw [][]byte, idx []int, errs []error, h eventHooks) error {
	if h.before != nil {
		if err := h.before(idx); err != nil {
			return err
		}
	}
	var resp batchEventsResponse
	status, err := c.do(ctx, request{method: http.MethodPost, route: "POST /events/batch", path: "/events/batch",
		body: batchBody(raw, idx), out: &resp})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest &&
			json.Unmarshal(ae.body, &resp) == nil && len(resp.Errors) > 0 {
			// Every event failed validation; Brevo still says which and why.
			mapEventErrors(c.scrubbed(resp), idx, errs, ae.Message)
			return c.answered(idx, errs, h)
		}
		return err
	}
	if status == http.StatusMultiStatus {
		if len(resp.Errors) == 0 && resp.FailedEvents > 0 {
			// Brevo says some failed but not which: resending all is the
			// only choice that loses none (at the price of duplicates).
			return pipeline.Retry(fmt.Errorf("brevo POST /events/batch: 207 with %d failed events but no per-event errors", resp.FailedEvents))
		}
		mapEventErrors(c.scrubbed(resp), idx, errs, "")
	}
	return c.answered(idx, errs, h)
}

// answered tells h.answered which events of a request Brevo accepted and
// which it refused.
func (c *Client) answered(idx []int, errs []error, h eventHooks) error {
	if h.answered == nil {
		return nil
	}
	var ok, refused []int
	for _, i := range idx {
		if errs[i] == nil {
			ok = append(ok, i)
		} else {
			refused = append(refused, i)
		}
	}
	if err := h.answered(ok, refused); err != nil {
		for _, i := range ok {
			errs[i] = err
		}
	}
	return nil
}

// scrubbed removes the key from Brevo's per-event messages, which end up
// in errors, the error history and logs.
func (c *Client) scrubbed(resp batchEventsResponse) batchEventsResponse {
	for i := range resp.Errors {
		resp.Errors[i].Message = scrub(resp.Errors[i].Message, c.key)
	}
	return resp
}

func mapEventErrors(resp batchEventsResponse, idx []int, errs []error, fallback string) {
	seen := make([]bool, len(idx))
	for _, e := range resp.Errors {
		for _, k := range e.EventIndex {
			if k < 0 || k >= len(idx) {
				continue
			}
			seen[k] = true
			errs[idx[k]] = pipeline.Reject(CodeBatchEventFailed,
				fmt.Errorf("brevo refused event %d of its batch: %s", k, e.Message))
		}
	}
	if fallback == "" {
		return
	}
	// A 400 means none was accepted, including any Brevo did not name.
	for k, ok := range seen {
		if !ok {
			errs[idx[k]] = pipeline.Reject(CodeBatchEventFailed, fmt.Errorf("brevo refused the whole batch: %s", fallback))
		}
	}
}

// batchOutcome folds per-item outcomes into the error a batch call returns.
func batchOutcome(errs []error) error {
	var first error
	same := true
	for _, e := range errs {
		if e == nil {
			same = false
			continue
		}
		if first == nil {
			first = e
		} else if e != first {
			same = false
		}
	}
	switch {
	case first == nil:
		return nil
	case same:
		return first
	}
	return &pipeline.BatchError{Errs: errs}
}

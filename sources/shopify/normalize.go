package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tajo/tajo/schemas"
)

// Source is the Event.Source of everything this package produces.
const Source = "shopify"

// MaxBodyBytes bounds a webhook body. Shopify's largest payloads (orders
// with hundreds of lines) stay well below it; the ingress should cap reads
// at the same size (http.MaxBytesReader) so the limit holds before the body
// is in memory.
const MaxBodyBytes = 8 << 20

// Normalize turns one verified delivery into a tajo.event.v1 envelope: the
// body is decoded into the canonical object of its topic (Event.Data), the
// original body is kept for replay (Event.Raw, referencing in.Body).
//
// The event id is deterministic: schemas.NewID("shopify", shop, topic,
// webhook id), or, for a delivery without a webhook id (replays,
// backfills), the entity id and occurred_at in place of the webhook id.
//
// OccurredAt is the object's own time (updated_at, occurredAt, the consent
// time) when the payload has one, else X-Shopify-Triggered-At, else the
// receive time. The stale-update guard compares it per entity.
//
// Errors wrap ErrMalformed (answer 400) or ErrUnsupportedTopic (acknowledge
// and record). Normalize never panics on any input.
func Normalize(in Webhook) (*schemas.Event, error) {
	t, ok := LookupTopic(in.Topic)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedTopic, clip(in.Topic))
	}
	if !ValidShopDomain(in.Shop) {
		return nil, malformed("shop domain %q is not <name>.myshopify.com", clip(in.Shop))
	}
	// The shop is the Kafka key and the tenant: one spelling per store.
	shop := strings.ToLower(in.Shop)
	if err := checkBody(in.Body); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	d, err := t.decode(in.Body)
	if err != nil {
		return nil, malformed("%s body: %v", t.Name, err)
	}
	data, err := marshalData(d.data)
	if err != nil {
		return nil, malformed("%s body: %v", t.Name, err)
	}

	if d.entityID == "" && t.Kind == schemas.KindShop {
		// The delivery's shop is authenticated; a payload without a shop id
		// is still about it.
		d.entityID = shop
	}

	received := in.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	occurred := d.occurredAt
	if occurred.IsZero() {
		occurred = in.TriggeredAt
	}
	if occurred.IsZero() {
		occurred = received
	}
	occurred, received = occurred.UTC(), received.UTC()

	var id string
	if in.WebhookID != "" {
		id = schemas.NewID(Source, shop, t.Name, in.WebhookID)
	} else {
		id = schemas.NewID(Source, shop, t.Name, d.entityID, occurred.Format(time.RFC3339Nano))
	}
	return &schemas.Event{
		Schema:     schemas.EventSchema,
		ID:         id,
		Source:     Source,
		Shop:       shop,
		Topic:      t.Name,
		Type:       t.Type,
		OccurredAt: occurred,
		ReceivedAt: received,
		APIVersion: in.APIVersion,
		Entity:     schemas.Entity{Kind: t.Kind, ID: d.entityID},
		Data:       data,
		Raw:        json.RawMessage(in.Body),
	}, nil
}

// checkBody refuses what can never be a Shopify payload before any decoding
// work is spent on it.
func checkBody(b []byte) error {
	switch {
	case len(b) == 0:
		return malformed("empty body")
	case len(b) > MaxBodyBytes:
		return malformed("body of %d bytes exceeds %d", len(b), MaxBodyBytes)
	case !utf8.Valid(b):
		// Raw is replayed as JSON text; invalid UTF-8 would be silently
		// rewritten to U+FFFD by every JSON decoder downstream.
		return malformed("body is not valid UTF-8")
	}
	// Full syntax is left to the decoder, which checks it before decoding
	// anything; scanning twice would cost a sixth of Normalize.
	if b = bytes.TrimLeft(b, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return malformed("body is not a JSON object")
	}
	return nil
}

// marshalData encodes the canonical object without HTML escaping: product
// descriptions are HTML, and \u003c everywhere helps no consumer.
func marshalData(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

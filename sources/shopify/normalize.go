package shopify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tajo/tajo/plugins"
	"github.com/tajo/tajo/schemas"
)

// Source is the Event.Source of everything this package produces.
const Source = "shopify"

// Normalize turns one verified delivery into a tajo.event.v1 envelope: the
// body is decoded into the canonical object of its topic (Event.Data), the
// original body is kept for replay (Event.Raw, referencing in.Body).
//
// Decoding is lenient (DESIGN.md invariant 7): `[]` or `{}` where an object
// is expected is absent, and a field that does not parse is left out of
// Data and named in Event.Problems. A delivery that cannot become a
// canonical event at all (a topic tajo does not know, a body that is JSON
// but not an object, no entity id, a destructive topic whose body does not
// fit it, a shop domain that is not <name>.myshopify.com) is returned as a
// schemas.TypeDeliveryUnprocessable event carrying the body, the
// delivery's headers and the reason, so that it reaches the error history
// instead of vanishing in a 4xx. The only error is a body that is not JSON
// at all (ErrMalformed, answer 400). The size limit is the host's
// (plugins.SourceConfig.MaxBodyBytes), applied before the body is read.
//
// The event id is deterministic: schemas.NewID("shopify", shop, topic,
// webhook id), or, for a delivery without a webhook id (replays,
// backfills), the entity id and occurred_at in place of the webhook id.
//
// OccurredAt is the object's own time (updated_at, occurredAt, the consent
// time) when the payload has one that parses, else X-Shopify-Triggered-At
// (Shopify's time of the fact, never the time tajo happened to receive
// it). Only a delivery with neither is dated by its receive time, with
// OccurredAt equal to ReceivedAt and a problem saying so. The stale-update
// guard compares OccurredAt per entity.
//
// Normalize never panics on any input.
func Normalize(in Webhook) (*schemas.Event, error) {
	if err := checkBody(in.Body); err != nil {
		return nil, err
	}
	// Each way out before decoding checks the syntax itself; the decoder
	// does on its own, and scanning twice would cost a sixth of Normalize.
	unprocessable := func(kind string, reasons ...string) (*schemas.Event, error) {
		if !json.Valid(in.Body) {
			return nil, errNotJSON
		}
		return Unprocessable(in, kind, reasons...), nil
	}
	t, ok := LookupTopic(in.Topic)
	if !ok {
		return unprocessable("", fmt.Sprintf("topic %q is not one tajo knows", clip(in.Topic)))
	}
	if !ValidShopDomain(in.Shop) {
		return unprocessable(t.Kind, fmt.Sprintf("shop domain %q is not <name>.myshopify.com", clip(in.Shop)))
	}
	// The shop is the Kafka key and the tenant: one spelling per store.
	shop := strings.ToLower(in.Shop)
	if b := bytes.TrimLeft(in.Body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return unprocessable(t.Kind, t.Name+": body is JSON but not an object")
	}
	if reason := crossCheck(t.Name, shop, in.Body); reason != "" {
		return unprocessable(t.Kind, t.Name+": "+reason)
	}
	var problems []string
	d, err := t.decode(in.Body, &problems)
	if errors.Is(err, ErrMalformed) {
		return nil, err
	}
	if err != nil {
		return Unprocessable(in, t.Kind, append(problems, t.Name+": "+err.Error())...), nil
	}
	data, err := marshalData(d.data)
	if err != nil {
		return Unprocessable(in, t.Kind, append(problems, t.Name+": "+err.Error())...), nil
	}

	if d.entityID == "" && t.Kind == schemas.KindShop {
		// The delivery's shop is authenticated; a payload without a shop id
		// is still about it.
		d.entityID = shop
	}

	received := receivedAt(in)
	occurred := d.occurredAt
	if occurred.IsZero() {
		occurred = in.TriggeredAt
	}
	if occurred.IsZero() {
		occurred = received
		problems = append(problems, "no time in the object and no "+HeaderTriggeredAt+": dated by its receive time")
	}
	occurred = occurred.UTC()

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
		Problems:   problems,
	}, nil
}

func receivedAt(in Webhook) time.Time {
	if in.ReceivedAt.IsZero() {
		return time.Now().UTC()
	}
	return in.ReceivedAt.UTC()
}

// KindDelivery is the Entity.Kind of an unprocessable delivery whose topic
// names no kind tajo knows.
const KindDelivery = "delivery"

// Unprocessable is the event of an authenticated delivery that cannot be
// normalized (schemas.TypeDeliveryUnprocessable): Raw is the body (which
// must be JSON), Headers the delivery's X-Shopify-* headers (for `tajo
// replay`, which signs Raw again and posts it with them), Problems the
// reasons. Its id is deterministic per delivery (the webhook id, or the
// topic and body when there is none), so a retried delivery is one event.
// kind is the topic's entity kind, "" when the topic is unknown.
func Unprocessable(in Webhook, kind string, reasons ...string) *schemas.Event {
	shop := strings.ToLower(in.Shop)
	if !ValidShopDomain(in.Shop) {
		shop = untrustedShop(in.Shop)
	}
	if kind == "" {
		kind = KindDelivery
	}
	key := in.WebhookID
	if key == "" {
		sum := sha256.Sum256(in.Body)
		key = in.Topic + "\x00" + hex.EncodeToString(sum[:])
	}
	received := receivedAt(in)
	occurred := in.TriggeredAt
	if occurred.IsZero() {
		occurred = received
	}
	return &schemas.Event{
		Schema:     schemas.EventSchema,
		ID:         schemas.NewID(Source, shop, schemas.TypeDeliveryUnprocessable, key),
		Source:     Source,
		Shop:       shop,
		Topic:      clip(in.Topic),
		Type:       schemas.TypeDeliveryUnprocessable,
		OccurredAt: occurred.UTC(),
		ReceivedAt: received,
		APIVersion: clip(in.APIVersion),
		Entity:     schemas.Entity{Kind: kind, ID: clip(in.WebhookID)},
		Raw:        json.RawMessage(in.Body),
		Problems:   reasons,
		Headers:    in.Headers,
	}
}

// untrustedShop is how a shop name that is not a valid myshopify domain
// is stored (plugins.Untrusted: escaped, clipped, marked), so that it is
// never taken for a tenant.
func untrustedShop(s string) string {
	if s == "" {
		return "(no shop domain)"
	}
	return plugins.Untrusted(s)
}

// errNotJSON is the one verdict on a body that is answered 400.
var errNotJSON = malformed("body is not JSON")

// checkBody refuses what can never be JSON before any decoding work is
// spent on it.
func checkBody(b []byte) error {
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return malformed("empty body")
	case !utf8.Valid(b):
		// Raw is replayed as JSON text; invalid UTF-8 would be silently
		// rewritten to U+FFFD by every JSON decoder downstream.
		return malformed("body is not valid UTF-8")
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

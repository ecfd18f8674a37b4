package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventSchema is the value of Event.Schema for this version of the envelope.
const EventSchema = "tajo.event.v1"

// Event is the canonical envelope every source writes and every stage reads.
//
// ID is deterministic: the same upstream fact (one webhook delivery, one
// backfilled row at one updated_at) always yields the same ID, which is what
// makes redelivery harmless downstream.
type Event struct {
	Schema     string          `json:"schema"`
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Shop       string          `json:"shop"`
	Topic      string          `json:"topic,omitempty"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	ReceivedAt time.Time       `json:"received_at"`
	APIVersion string          `json:"api_version,omitempty"`
	Entity     Entity          `json:"entity"`
	Data       json.RawMessage `json:"data,omitempty"`
	Raw        json.RawMessage `json:"raw,omitempty"`
	// Problems names what normalization could not read and left out of
	// Data ("created_at: unparseable time \"NULL\""); the value stays in
	// Raw. An event with problems is still processed with what parsed.
	Problems []string `json:"problems,omitempty"`
	// Headers are the delivery's own headers (X-Shopify-Topic, …), kept
	// only on an unprocessable delivery (TypeDeliveryUnprocessable) so
	// that `tajo replay` can send it through the ingress again.
	Headers map[string]string `json:"headers,omitempty"`

	// Attributes is what the transform chain computed for the destination,
	// a JSON object of target key → scalar (for a Brevo contact, attribute
	// name → value: {"FIRSTNAME":"Zoë","AOV":75.25}). Absent until a map
	// stage has run; sources never set it.
	Attributes json.RawMessage `json:"attributes,omitempty"`
	// Identifiers are the keys a sink upserts the entity by, set by the
	// same map stage.
	Identifiers *Identifiers `json:"identifiers,omitempty"`
	// Consent is the contact's marketing subscription as the chain
	// understood it; a sink turns "unsubscribed" into a blocklisting.
	Consent *Consent `json:"consent,omitempty"`

	// Object is Data decoded into its canonical type (*Customer, *Order,
	// *Checkout, *Product, *Refund, …), set by the stage that decoded the
	// record once so that later stages and sinks read it instead of Data;
	// nil when nobody decoded Data (or its type has none). It is never
	// encoded: Data stays its encoding.
	Object any `json:"-"`

	// src is the encoding e was decoded from (SetSource), srcEnd the
	// index of its closing brace: see AppendJSON.
	src    []byte
	srcEnd int
}

// Consent carries a contact's email and SMS marketing state, each one of
// "subscribed", "unsubscribed", "pending", or "" when the event did not say
// (unknown must never be read as an opt-out).
type Consent struct {
	Email string `json:"email,omitempty"`
	SMS   string `json:"sms,omitempty"`
}

// Identifiers name a contact the way a destination looks it up: the Brevo
// sink upserts by Email, falls back to ExtID (the Shopify customer id) and
// Phone (E.164).
type Identifiers struct {
	Email string `json:"email,omitempty"`
	ExtID string `json:"ext_id,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Entity names the upstream object an event is about.
type Entity struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// NewID derives a deterministic event id from the parts that identify one
// upstream fact. Parts are joined unambiguously (length-prefixed), hashed with
// SHA-256 and the first 16 bytes are hex encoded: 32 characters, stable
// across releases.
func NewID(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		l := len(p)
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// Validate reports the first problem that makes e unusable downstream.
func (e *Event) Validate() error {
	var missing []string
	if e.Schema != EventSchema {
		return fmt.Errorf("schema: want %q, got %q", EventSchema, e.Schema)
	}
	for _, f := range []struct{ name, v string }{
		{"id", e.ID}, {"source", e.Source}, {"shop", e.Shop}, {"type", e.Type},
		{"entity.kind", e.Entity.Kind},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if e.OccurredAt.IsZero() {
		return errors.New("missing occurred_at")
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return errors.New("data: not valid JSON")
	}
	if a := bytes.TrimSpace(e.Attributes); len(a) > 0 && (a[0] != '{' || !json.Valid(a)) {
		return errors.New("attributes: not a JSON object")
	}
	return nil
}

// DecodeEvent parses one envelope and validates it.
func DecodeEvent(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", EventSchema, err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", EventSchema, err)
	}
	return &e, nil
}

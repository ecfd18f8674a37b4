package schemas

import (
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

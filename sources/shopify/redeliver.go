package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// Delivery is one Shopify webhook request, rebuilt from an envelope.
type Delivery struct {
	Topic  string
	Header http.Header
	Body   []byte
}

// Redeliverer rebuilds the webhook deliveries of envelopes the pipeline
// rejected, for `tajo replay`: the raw body as received, signed again
// with the shop's api_secret, with a new X-Shopify-Webhook-Id so the
// delivery dedupe lets it through.
type Redeliverer struct {
	secrets map[string]string // shop → the api_secret the ingress verifies with
	now     time.Time
}

// NewRedeliverer signs with the api_secret of each of c's stores; now
// dates the new webhook ids.
func NewRedeliverer(c *Config, now time.Time) *Redeliverer {
	r := &Redeliverer{secrets: map[string]string{}, now: now}
	for _, st := range c.StoreList() {
		if st.APISecret != "" {
			r.secrets[st.ShopURL] = st.APISecret.Reveal()
		}
	}
	return r
}

// replayed matches the suffix a replay adds to a webhook id, so a replay of
// a replay derives from the original again.
var replayed = regexp.MustCompile(`\.replay\.\d+$`)

// Rebuild turns a dead letter's payload into the delivery to send, or says
// why there is none.
func (r *Redeliverer) Rebuild(payload []byte) (Delivery, string) {
	var ev schemas.Event
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Schema != schemas.EventSchema {
		return Delivery{}, "not a tajo event envelope (the record on Kafka was not one)"
	}
	switch {
	case ev.Source == SourceBackfill || strings.HasSuffix(ev.Topic, "/reconcile"):
		return Delivery{}, "a backfill or reconcile record has no webhook to send again: it is read again by the next reconciliation"
	case ev.Source != Source:
		return Delivery{}, fmt.Sprintf("not a Shopify webhook (source %q)", ev.Source)
	case len(bytes.TrimSpace(ev.Raw)) == 0:
		return Delivery{}, "the envelope has no raw webhook body"
	}
	h := http.Header{}
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	setDefault := func(k, v string) {
		if h.Get(k) == "" && v != "" {
			h.Set(k, v)
		}
	}
	setDefault(HeaderTopic, ev.Topic)
	setDefault(HeaderShopDomain, ev.Shop)
	setDefault(HeaderAPIVersion, ev.APIVersion)
	// Without it the replay would be dated by its own receive time, and a
	// later genuine update could look stale next to it.
	setDefault(HeaderTriggeredAt, ev.OccurredAt.UTC().Format(time.RFC3339Nano))
	shop := strings.ToLower(h.Get(HeaderShopDomain))
	secret, ok := r.secrets[shop]
	if !ok {
		return Delivery{}, fmt.Sprintf("shop %q is not a store of connectors.shopify (no api_secret to sign with)", shop)
	}
	orig := h.Get(HeaderWebhookID)
	if orig == "" {
		orig = ev.ID
	}
	h.Set(HeaderWebhookID, fmt.Sprintf("%s.replay.%d", replayed.ReplaceAllString(orig, ""), r.now.Unix()))
	body := []byte(ev.Raw)
	h.Set(HeaderHMAC, Sign(body, secret))
	h.Set("Content-Type", "application/json")
	return Delivery{Topic: h.Get(HeaderTopic), Header: h, Body: body}, ""
}

package shopify

import (
	"net/http"
	"strings"
	"time"
)

// Webhook is one delivery as received: the Shopify headers that matter and
// the raw body, exactly as signed.
type Webhook struct {
	Shop        string    // X-Shopify-Shop-Domain, e.g. example.myshopify.com
	Topic       string    // X-Shopify-Topic, e.g. orders/create
	WebhookID   string    // X-Shopify-Webhook-Id: one per delivery, the dedupe key
	EventID     string    // X-Shopify-Event-Id: one per upstream event, for correlation
	TriggeredAt time.Time // X-Shopify-Triggered-At; zero when absent
	APIVersion  string    // X-Shopify-API-Version: the version that serialized Body
	ReceivedAt  time.Time // when tajo received the delivery
	Body        []byte
}

// Header names. Shopify's newer Events deliveries drop the "X-" prefix;
// both spellings are read, the X- one first.
const (
	HeaderHMAC        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
)

// header reads name or its unprefixed Events spelling; http.Header.Get
// already treats names case-insensitively.
func header(h http.Header, name string) string {
	if v := strings.TrimSpace(h.Get(name)); v != "" {
		return v
	}
	return strings.TrimSpace(h.Get(strings.TrimPrefix(name, "X-")))
}

// HMACHeader returns the signature header of a delivery.
func HMACHeader(h http.Header) string { return header(h, HeaderHMAC) }

// Verify authenticates one delivery and reads its headers, in the order the
// ingress must answer: first the HMAC over the raw body (ErrUnauthorized →
// 401, before anything else in the request is trusted), then the required
// headers and the shop domain (ErrMalformed → 400). It does not decode the
// body; Normalize does.
func Verify(h http.Header, body []byte, s Secrets, receivedAt time.Time) (Webhook, error) {
	if err := VerifyHMAC(body, HMACHeader(h), s); err != nil {
		return Webhook{}, err
	}
	return ParseHeaders(h, body, receivedAt)
}

// ParseHeaders builds a Webhook from the delivery headers, requiring the
// ones Shopify always sends (topic, shop domain, API version, webhook id)
// and a valid myshopify shop domain. It does not check the HMAC: call
// Verify, or VerifyHMAC first.
//
// An unparsable X-Shopify-Triggered-At is ignored rather than refused: the
// payload's own timestamps order the event, and refusing a genuine
// delivery would lose it after Shopify's retries.
func ParseHeaders(h http.Header, body []byte, receivedAt time.Time) (Webhook, error) {
	w := Webhook{
		Shop:       strings.ToLower(header(h, HeaderShopDomain)),
		Topic:      header(h, HeaderTopic),
		WebhookID:  header(h, HeaderWebhookID),
		EventID:    header(h, HeaderEventID),
		APIVersion: header(h, HeaderAPIVersion),
		ReceivedAt: receivedAt,
		Body:       body,
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{HeaderTopic, w.Topic}, {HeaderShopDomain, w.Shop},
		{HeaderAPIVersion, w.APIVersion}, {HeaderWebhookID, w.WebhookID},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Webhook{}, malformed("missing header %s", strings.Join(missing, ", "))
	}
	if !ValidShopDomain(w.Shop) {
		return Webhook{}, malformed("shop domain %q is not <name>.myshopify.com", clip(w.Shop))
	}
	if v := header(h, HeaderTriggeredAt); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			w.TriggeredAt = t
		}
	}
	return w, nil
}

// clip keeps hostile header values from flooding errors and logs.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

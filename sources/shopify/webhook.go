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
	// Headers are the delivery's Shopify headers (X-Shopify-*, and the
	// unprefixed Shopify-* of Events deliveries) except the signature, as
	// sent: an unprocessable delivery carries them so that `tajo replay`
	// can post it again exactly.
	Headers map[string]string
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
//
// The Webhook is filled as far as the headers allow even when an error is
// returned, so that the delivery can still be recorded (Unprocessable).
func ParseHeaders(h http.Header, body []byte, receivedAt time.Time) (Webhook, error) {
	w := Webhook{
		Headers:    shopifyHeaders(h),
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
	if v := header(h, HeaderTriggeredAt); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			w.TriggeredAt = t
		}
	}
	if len(missing) > 0 {
		return w, malformed("missing header %s", strings.Join(missing, ", "))
	}
	if !ValidShopDomain(w.Shop) {
		return w, malformed("shop domain %q is not <name>.myshopify.com", clip(w.Shop))
	}
	return w, nil
}

// Bounds on the headers kept with an unprocessable delivery: Shopify sends
// about ten, each short.
const (
	maxKeptHeaders     = 32
	maxKeptHeaderBytes = 1024
)

// shopifyHeaders copies the delivery's Shopify headers (first value of
// each) except the signature, which a replay computes anew.
func shopifyHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if len(out) == maxKeptHeaders || len(v) == 0 || len(v[0]) > maxKeptHeaderBytes ||
			!strings.HasPrefix(ck, "X-Shopify-") && !strings.HasPrefix(ck, "Shopify-") ||
			strings.EqualFold(strings.TrimPrefix(ck, "X-"), strings.TrimPrefix(HeaderHMAC, "X-")) {
			continue
		}
		out[ck] = v[0]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// clip keeps hostile header values from flooding errors and logs.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Secrets are the app's client secrets that may sign webhooks. After a
// rotation Shopify can take up to an hour to sign with the new secret, so
// both are accepted until Previous is cleared.
type Secrets struct {
	Current  string
	Previous string // optional
}

// list is the secrets that are set, current first.
func (s Secrets) list() []string {
	var out []string
	for _, v := range []string{s.Current, s.Previous} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// maxHMACHeader bounds the header we look at; a valid one is 44 characters.
const maxHMACHeader = 128

// VerifyHMAC checks header (the X-Shopify-Hmac-Sha256 value) against
// base64(HMAC-SHA256(body, secret)) for the current and then the previous
// secret, in constant time. It returns nil, ErrNoSecret, or an error
// wrapping ErrUnauthorized; no error contains a secret or the expected MAC.
//
// An empty body is refused even if correctly signed: every Shopify webhook
// has a JSON body, and the empty-body MAC is the easiest one to forge from a
// leaked log line.
func VerifyHMAC(body []byte, header string, s Secrets) error {
	if header == "" {
		return fmt.Errorf("%w: missing X-Shopify-Hmac-Sha256", ErrUnauthorized)
	}
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", ErrUnauthorized)
	}
	if s.Current == "" && s.Previous == "" {
		return ErrNoSecret
	}
	if len(header) > maxHMACHeader {
		return fmt.Errorf("%w: signature header too long", ErrUnauthorized)
	}
	// The header is compared in its encoded form: decoding it first would
	// also accept non-canonical spellings (Go's decoder skips newlines).
	// Both secrets are always tried so the time taken does not tell which
	// one matched.
	got := []byte(header)
	okCur := s.Current != "" && hmac.Equal(got, []byte(Sign(body, s.Current)))
	okPrev := s.Previous != "" && hmac.Equal(got, []byte(Sign(body, s.Previous)))
	if okCur || okPrev {
		return nil
	}
	return fmt.Errorf("%w: signature does not match", ErrUnauthorized)
}

// Sign returns the X-Shopify-Hmac-Sha256 value Shopify would send for body;
// test doubles (a store simulator) use it to sign their deliveries.
func Sign(body []byte, secret string) string {
	return base64.StdEncoding.EncodeToString(sign(body, secret))
}

func sign(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

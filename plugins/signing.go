package plugins

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strings"

	"github.com/tajo/tajo/plugins/proto/sourcev1"
)

// SchemeHMACSHA256Base64 is the signature base64(HMAC-SHA256(body,
// secret)), as Shopify signs its webhooks.
const SchemeHMACSHA256Base64 = "hmac-sha256-base64"

// WebhookSigning is how a plugin's webhooks are signed (Spec.Signing).
// Declaring it lets the host authenticate a request while it reads the
// body, before any of it is copied into the plugin, and answer every bad
// or missing signature 401 itself: an unauthenticated sender then costs a
// bounded read and one hash per candidate secret, never a plugin call.
type WebhookSigning struct {
	// Scheme is SchemeHMACSHA256Base64, the only one today.
	Scheme string
	// SignatureHeaders may carry the signature; the first present wins.
	SignatureHeaders []string
	// KeyHeaders select the secrets by their value, trimmed and
	// lower-cased (e.g. the shop domain); the first present wins.
	KeyHeaders []string
	// Secrets are the accepted secrets per key value.
	Secrets map[string][]string
	// Default are the secrets for any other key value or a missing key
	// header; with none, such requests are unauthorized.
	Default []string
}

func signingToProto(s *WebhookSigning) *sourcev1.WebhookSigning {
	if s == nil {
		return nil
	}
	p := &sourcev1.WebhookSigning{
		Scheme: s.Scheme, SignatureHeaders: s.SignatureHeaders, KeyHeaders: s.KeyHeaders, DefaultSecrets: s.Default,
	}
	for k, v := range s.Secrets {
		p.Keys = append(p.Keys, &sourcev1.KeySecrets{Key: k, Secrets: v})
	}
	return p
}

func signingFromProto(p *sourcev1.WebhookSigning) *WebhookSigning {
	if p == nil {
		return nil
	}
	s := &WebhookSigning{
		Scheme: p.Scheme, SignatureHeaders: p.SignatureHeaders, KeyHeaders: p.KeyHeaders,
		Default: p.DefaultSecrets, Secrets: map[string][]string{},
	}
	for _, k := range p.Keys {
		s.Secrets[k.Key] = k.Secrets
	}
	return s
}

// maxSignatureHeader bounds the signature looked at; a valid one is 44
// characters.
const maxSignatureHeader = 128

// verifier is a WebhookSigning the host can apply.
type verifier struct {
	sigHeaders, keyHeaders []string
	secrets                map[string][][]byte
	fallback               [][]byte
}

// newVerifier returns nil when s is nil or names a scheme this host does
// not know: the plugin then judges every request itself, as before.
func newVerifier(s *WebhookSigning) *verifier {
	if s == nil || s.Scheme != SchemeHMACSHA256Base64 || len(s.SignatureHeaders) == 0 {
		return nil
	}
	v := &verifier{sigHeaders: s.SignatureHeaders, keyHeaders: s.KeyHeaders, secrets: map[string][][]byte{}, fallback: keys(s.Default)}
	for k, sec := range s.Secrets {
		v.secrets[strings.ToLower(strings.TrimSpace(k))] = keys(sec)
	}
	return v
}

func keys(secrets []string) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}

func first(h http.Header, names []string) string {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return v
		}
	}
	return ""
}

// key is the request's key header value, as sent (for the log).
func (v *verifier) key(h http.Header) string { return first(h, v.keyHeaders) }

// start judges what the headers alone can tell: the signature and the
// secrets that may have made it. A nil check means the request is
// unauthorized whatever its body; verdict is "missing" or "invalid".
func (v *verifier) start(h http.Header) (c *bodyCheck, verdict string) {
	sig := first(h, v.sigHeaders)
	if sig == "" {
		return nil, "missing"
	}
	secrets, ok := v.secrets[strings.ToLower(v.key(h))]
	if !ok {
		secrets = v.fallback
	}
	if len(secrets) == 0 || len(sig) > maxSignatureHeader {
		return nil, "invalid"
	}
	c = &bodyCheck{sig: []byte(sig)}
	for _, s := range secrets {
		c.macs = append(c.macs, hmac.New(sha256.New, s))
	}
	return c, "invalid"
}

// bodyCheck hashes a body as it is read (an io.Writer beside the buffer).
type bodyCheck struct {
	sig  []byte
	macs []hash.Hash
}

func (c *bodyCheck) Write(p []byte) (int, error) {
	for _, m := range c.macs {
		m.Write(p)
	}
	return len(p), nil
}

// ok reports whether any secret's MAC equals the signature. Every secret
// is compared, in constant time, so the time taken tells nothing; the
// signature is compared in its encoded form, so non-canonical base64
// spellings are refused.
func (c *bodyCheck) ok() bool {
	match := 0
	for _, m := range c.macs {
		want := []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
		if hmac.Equal(c.sig, want) {
			match = 1
		}
	}
	return match == 1
}

package plugins

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestVerifier: the host's reading of Spec.Signing accepts a body signed
// by one of the secrets its key selects (or the default ones for any
// other key), and nothing else: no secret for the key, a missing or
// overlong signature, a non-canonical spelling, a tampered body.
func TestVerifier(t *testing.T) {
	v := newVerifier(signingFromProto(signingToProto(&WebhookSigning{
		Scheme:           SchemeHMACSHA256Base64,
		SignatureHeaders: []string{"X-Sig", "Sig"},
		KeyHeaders:       []string{"X-Shop"},
		Secrets:          map[string][]string{"A.example": {"a-new", "a-old"}},
		Default:          []string{"app"},
	})))
	body := []byte(`{"id":1}`)
	for _, c := range []struct {
		name, shop, sigHeader, sig string
		body                       []byte
		ok                         bool
		verdict                    string
	}{
		{"current secret", "a.example", "X-Sig", sign(body, "a-new"), body, true, ""},
		{"previous secret, key case and spaces", " A.EXAMPLE ", "X-Sig", sign(body, "a-old"), body, true, ""},
		{"alternate header", "a.example", "Sig", sign(body, "a-new"), body, true, ""},
		{"another key's secret", "a.example", "X-Sig", sign(body, "app"), body, false, "invalid"},
		{"unknown key, default secret", "b.example", "X-Sig", sign(body, "app"), body, true, ""},
		{"missing key, default secret", "", "X-Sig", sign(body, "app"), body, true, ""},
		{"tampered body", "a.example", "X-Sig", sign(body, "a-new"), []byte(`{"id":2}`), false, "invalid"},
		{"non-canonical base64 (no padding)", "a.example", "X-Sig", strings.TrimRight(sign(body, "a-new"), "="), body, false, "invalid"},
		{"missing signature", "a.example", "X-Sig", "", body, false, "missing"},
	} {
		h := http.Header{}
		if c.shop != "" {
			h.Set("X-Shop", c.shop)
		}
		if c.sig != "" {
			h[c.sigHeader] = []string{c.sig}
		}
		chk, verdict := v.start(h)
		if chk == nil {
			if c.ok || verdict != c.verdict {
				t.Errorf("%s: refused on its headers (%s)", c.name, verdict)
			}
			continue
		}
		chk.Write(c.body[:3])
		chk.Write(c.body[3:])
		if chk.ok() != c.ok {
			t.Errorf("%s: ok = %v, want %v", c.name, chk.ok(), c.ok)
		}
	}
	// Without default secrets, a shop with no secrets is refused before
	// its body is read.
	strict := newVerifier(&WebhookSigning{Scheme: SchemeHMACSHA256Base64, SignatureHeaders: []string{"X-Sig"}, KeyHeaders: []string{"X-Shop"}})
	h := http.Header{"X-Sig": {sign(body, "x")}, "X-Shop": {"c.example"}}
	if chk, verdict := strict.start(h); chk != nil || verdict != "invalid" {
		t.Errorf("unknown key without default secrets: %v %s", chk, verdict)
	}
	if newVerifier(&WebhookSigning{Scheme: "rot13", SignatureHeaders: []string{"X-Sig"}}) != nil {
		t.Error("an unknown scheme must leave the judging to the plugin")
	}
}

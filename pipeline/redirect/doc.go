// Package redirect keeps credentials at home: an http.Client whose
// redirect policy refuses to take a request that carries a credential
// header to another host, or from https down to plain http (DESIGN.md
// invariant 6). Go drops Authorization and Cookie on such redirects, but
// not custom headers such as Brevo's api-key or Shopify's
// X-Shopify-Access-Token. Requests without the credential (pre-signed
// downloads) follow redirects as usual.
package redirect

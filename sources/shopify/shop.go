package shopify

import "regexp"

// shopDomainRE is anchored on both ends: an unanchored rule accepts
// "evil.com/x.myshopify.com" or "x.myshopify.com.evil.com", which Shopify's
// app-security checks flag as a high-severity finding.
var shopDomainRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`)

// maxShopDomain bounds the input before the regexp sees it; DNS names are
// at most 253 characters.
const maxShopDomain = 253

// ValidShopDomain reports whether shop is a store's permanent
// <name>.myshopify.com domain. Custom domains and Shopify's own test hosts
// (myshopify.io) are refused: every tenant key in tajo is a myshopify
// domain.
func ValidShopDomain(shop string) bool {
	return len(shop) <= maxShopDomain && shopDomainRE.MatchString(shop)
}

package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tajo/tajo/schemas"
)

// Destructive topics erase data downstream (a Brevo contact, a shop's
// history). Shopify signs the body only, not X-Shopify-Topic: whoever
// captured one signed delivery can post it again under another topic
// header. So before a body is believed under a destructive topic, its
// shape must be that topic's and nothing else's: a signed customers/update
// replayed as customers/delete fails this check and becomes an
// unprocessable delivery with the reason, never a deletion.

// destructive lists the topics crossCheck guards.
var destructive = map[string]func(shop string, body map[string]json.RawMessage) string{
	"customers/delete": checkCustomerDelete,
	"customers/redact": checkCustomerRedact,
	"shop/redact":      checkShopRedact,
	"app/uninstalled":  checkAppUninstalled,
}

// IsDestructive reports whether a topic erases data downstream.
func IsDestructive(topic string) bool {
	_, ok := destructive[topic]
	return ok
}

// crossCheck returns why body cannot be a delivery of topic for shop, or
// "" when it fits (or the topic is not destructive).
func crossCheck(topic, shop string, body []byte) string {
	check, ok := destructive[topic]
	if !ok {
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "body is not an object"
	}
	return check(shop, m)
}

// checkCustomerDelete: Shopify's customers/delete body is the id and
// nothing of the customer ({"id", "admin_graphql_api_id", and empty
// "tax_exemptions", "phone", "addresses", consent nulls}). A body with
// an email, a name or timestamps is a customer record, not a deletion.
func checkCustomerDelete(_ string, m map[string]json.RawMessage) string {
	id, ok := positiveID(m["id"])
	if !ok {
		return `no customer "id"`
	}
	if why := gidFits(m["admin_graphql_api_id"], "Customer", id); why != "" {
		return why
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "id" || k == "admin_graphql_api_id" || isBlank(m[k]) {
			continue
		}
		return fmt.Sprintf("body has %q, which a deletion never carries: a customer record sent under the deletion topic", clip(k))
	}
	return ""
}

// checkCustomerRedact: {shop_id, shop_domain, customer: {id, email,
// phone}, orders_to_redact}.
func checkCustomerRedact(shop string, m map[string]json.RawMessage) string {
	if why := shopFits(shop, m); why != "" {
		return why
	}
	var c struct {
		ID schemas.ID `json:"id"`
	}
	if raw, ok := m["customer"]; !ok || json.Unmarshal(raw, &c) != nil || c.ID <= 0 {
		return `no "customer" with an "id"`
	}
	if _, ok := m["orders_to_redact"]; !ok {
		return `no "orders_to_redact": not a redaction request`
	}
	return ""
}

// checkShopRedact: {shop_id, shop_domain} and nothing else.
func checkShopRedact(shop string, m map[string]json.RawMessage) string {
	if why := shopFits(shop, m); why != "" {
		return why
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "shop_id" && k != "shop_domain" && !isBlank(m[k]) {
			return fmt.Sprintf("body has %q, which a shop redaction never carries", clip(k))
		}
	}
	return ""
}

// checkAppUninstalled: the body is the shop itself (REST Shop): an id and
// fields only a shop has.
func checkAppUninstalled(shop string, m map[string]json.RawMessage) string {
	if _, ok := positiveID(m["id"]); !ok {
		return `no shop "id"`
	}
	if why := gidFits(m["admin_graphql_api_id"], "Shop", 0); why != "" {
		return why
	}
	var domain string
	if json.Unmarshal(m["myshopify_domain"], &domain) == nil && ValidShopDomain(domain) && !strings.EqualFold(domain, shop) {
		return fmt.Sprintf("body is about shop %q, not the delivery's", clip(domain))
	}
	for _, k := range []string{"myshopify_domain", "shop_owner", "plan_name", "money_format", "iana_timezone", "primary_locale", "customer_email"} {
		if _, ok := m[k]; ok {
			return ""
		}
	}
	return "body has none of a shop's fields (myshopify_domain, shop_owner, plan_name, …)"
}

// shopFits checks the shop_domain and shop_id of a compliance body: one of
// them present, and a real shop_domain equal to the delivery's. (Shopify's
// published samples carry the placeholder "{shop}.myshopify.com", which is
// no shop domain and is not compared.)
func shopFits(shop string, m map[string]json.RawMessage) string {
	var domain string
	_, hasDomain := m["shop_domain"]
	if hasDomain && json.Unmarshal(m["shop_domain"], &domain) != nil {
		return `"shop_domain" is not a string`
	}
	_, hasID := positiveID(m["shop_id"])
	if !hasID && domain == "" {
		return `no "shop_id" or "shop_domain"`
	}
	if ValidShopDomain(domain) && !strings.EqualFold(domain, shop) {
		return fmt.Sprintf("body is about shop %q, not the delivery's", clip(domain))
	}
	return ""
}

func positiveID(raw json.RawMessage) (schemas.ID, bool) {
	var id schemas.ID
	if len(raw) == 0 || json.Unmarshal(raw, &id) != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// gidFits checks an admin_graphql_api_id, when present, names kind (and
// id, unless 0).
func gidFits(raw json.RawMessage, kind string, id schemas.ID) string {
	if isBlank(raw) {
		return ""
	}
	var gid string
	if json.Unmarshal(raw, &gid) != nil {
		return `"admin_graphql_api_id" is not a string`
	}
	prefix := "gid://shopify/" + kind + "/"
	if !strings.HasPrefix(gid, prefix) || id != 0 && strings.TrimPrefix(gid, prefix) != id.String() {
		return fmt.Sprintf("admin_graphql_api_id %q does not name this %s", clip(gid), strings.ToLower(kind))
	}
	return ""
}

// isBlank: absent, null, "", [] or {}.
func isBlank(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null" || string(raw) == `""` || isEmptyComposite(raw)
}

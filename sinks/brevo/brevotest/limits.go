package brevotest

import (
	"strings"
	"time"
)

// The endpoint groups Brevo rates together (api-facts C7, General tier):
// every /v3/contacts route shares one budget, POST /v3/events another, and
// every route the table does not name falls in "all other endpoints" —
// /v3/processes included, which is why polling imports is not free.
const (
	GroupContacts = "contacts"
	GroupEvents   = "events"
	GroupOrders   = "orders"
	GroupProducts = "products"
	GroupOther    = "other"
)

// RouteGroup is the endpoint group of a route ("POST /contacts/import",
// method and path template without /v3). Brevo's table names POST
// /v3/events; POST /v3/events/batch is not documented apart, so it shares
// the events budget. The batch routes of orders and products, and the
// categories, are not in the table: like api-facts, they count as other.
func RouteGroup(route string) string {
	method, path, _ := strings.Cut(route, " ")
	switch {
	case path == "/contacts" || strings.HasPrefix(path, "/contacts/"):
		return GroupContacts
	case method == "POST" && (path == "/events" || path == "/events/batch"):
		return GroupEvents
	case method == "POST" && path == "/orders/status":
		return GroupOrders
	case method == "POST" && path == "/products":
		return GroupProducts
	}
	return GroupOther
}

// GeneralTier is Brevo's General-tier rate limits (every plan), for
// Options.GroupLimits: contacts and events 10/s and 36,000/h, orders 5/s
// and 18,000/h, products 2/s and 7,200/h, all other endpoints 100/h.
func GeneralTier() map[string][]Limit {
	return map[string][]Limit{
		GroupContacts: {{10, time.Second}, {36000, time.Hour}},
		GroupEvents:   {{10, time.Second}, {36000, time.Hour}},
		GroupOrders:   {{5, time.Second}, {18000, time.Hour}},
		GroupProducts: {{2, time.Second}, {7200, time.Hour}},
		GroupOther:    {{100, time.Hour}},
	}
}

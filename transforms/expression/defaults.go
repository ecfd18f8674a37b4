package expression

import (
	"math"
	"strconv"
	"strings"
)

// Default is one entry of the default contact mapping (pipeline.yaml's
// field_mapping): the Shopify field it is named by, the target it sets and
// its expression. Targets in lower case are not attributes: email, ext_id
// and phone are identifiers, email_consent and sms_consent the
// subscription state.
type Default struct {
	Field, Target, Expr string
}

// Defaults is the seed's mapping, the expressions every contact event
// runs unless the user changes them; each has a Go version below.
var Defaults = []Default{
	{"email", "email", "customer.email"},
	{"id", "ext_id", "customer.id == 0 ? nil : string(customer.id)"},
	{"first_name", "FIRSTNAME", "customer.first_name"},
	{"last_name", "LASTNAME", "customer.last_name"},
	{"phone", "SMS", "e164(customer.phone, shop.country)"},
	{"email_marketing_consent", "email_consent", "customer.email_consent"},
	{"sms_marketing_consent", "sms_consent", "customer.sms_consent"},
	{"orders_count", "ORDER_COUNT", "customer.aggregates_known ? customer.orders_count : nil"},
	{"total_spent", "TOTAL_SPENT", "customer.aggregates_known ? customer.total_spent : nil"},
	{"last_order_date", "LAST_ORDER_DATE", "customer.last_order_at"},
	{"tags", "TAGS", `len(customer.tags) == 0 ? nil : join(customer.tags, ", ")`},
	{"customer_type", "CUSTOMER_TYPE", `!customer.aggregates_known ? nil : customer.orders_count == 0 ? "prospect" : customer.orders_count == 1 ? "new" : "returning"`},
	{"preferred_language", "LANGUAGE", "coalesce(customer.locale, order.customer_locale, checkout.customer_locale)"},
	{"loyalty_tier", "VIP_TIER", `hasTag(customer.tags, "vip") ? "vip" : !customer.aggregates_known ? nil : money(customer.total_spent) >= 1000 ? "gold" : money(customer.total_spent) >= 500 ? "silver" : customer.orders_count >= 1 ? "bronze" : nil`},
	{"average_order_value", "AOV", "customer.aggregates_known ? customer.average_order_value : nil"},
	{"days_since_last_order", "RECENCY", "daysSince(customer.last_order_at)"},
}

// native is a Go version of one expression of the default field mapping,
// which runs on every contact event. It returns what the compiled program
// returns (the same value, of the same dynamic type); ok is false when the
// program must run instead: whenever the expression would fail (a bad
// phone), so an error keeps expr's exact message and position.
//
// Natives are keyed by the exact source text: a user who edits a default
// expression gets the compiled program, and one who writes the same text
// gets the native. The program is always compiled too, so `tajo validate`
// and type checking are unchanged. TestNativesAgreeWithPrograms checks
// every native against its program on the fixtures and on generated
// environments.
type native func(e *Env) (v any, ok bool)

var natives = map[string]native{
	"customer.email": func(e *Env) (any, bool) { return e.Customer.Email, true },
	"customer.id == 0 ? nil : string(customer.id)": func(e *Env) (any, bool) {
		if e.Customer.ID == 0 {
			return nil, true
		}
		return strconv.FormatInt(e.Customer.ID, 10), true
	},
	"customer.first_name": func(e *Env) (any, bool) { return e.Customer.FirstName, true },
	"customer.last_name":  func(e *Env) (any, bool) { return e.Customer.LastName, true },
	"e164(customer.phone, shop.country)": func(e *Env) (any, bool) {
		phone := e.Customer.Phone
		if strings.TrimSpace(phone) == "" {
			return nil, true
		}
		s, err := E164(phone, e.Shop.Country)
		return s, err == nil
	},
	"customer.email_consent": func(e *Env) (any, bool) { return e.Customer.EmailConsent, true },
	"customer.sms_consent":   func(e *Env) (any, bool) { return e.Customer.SMSConsent, true },
	"customer.aggregates_known ? customer.orders_count : nil": func(e *Env) (any, bool) {
		if !e.Customer.AggregatesKnown {
			return nil, true
		}
		return e.Customer.OrdersCount, true
	},
	"customer.aggregates_known ? customer.total_spent : nil": func(e *Env) (any, bool) {
		if !e.Customer.AggregatesKnown {
			return nil, true
		}
		return e.Customer.TotalSpent, true
	},
	"customer.last_order_at": func(e *Env) (any, bool) { return e.Customer.LastOrderAt, true },
	`len(customer.tags) == 0 ? nil : join(customer.tags, ", ")`: func(e *Env) (any, bool) {
		if len(e.Customer.Tags) == 0 {
			return nil, true
		}
		return strings.Join(e.Customer.Tags, ", "), true
	},
	`!customer.aggregates_known ? nil : customer.orders_count == 0 ? "prospect" : customer.orders_count == 1 ? "new" : "returning"`: func(e *Env) (any, bool) {
		switch c := e.Customer; {
		case !c.AggregatesKnown:
			return nil, true
		case c.OrdersCount == 0:
			return "prospect", true
		case c.OrdersCount == 1:
			return "new", true
		}
		return "returning", true
	},
	"coalesce(customer.locale, order.customer_locale, checkout.customer_locale)": func(e *Env) (any, bool) {
		for _, s := range [...]string{e.Customer.Locale, e.Order.CustomerLocale, e.Checkout.CustomerLocale} {
			if s != "" {
				return s, true
			}
		}
		return nil, true
	},
	`hasTag(customer.tags, "vip") ? "vip" : !customer.aggregates_known ? nil : money(customer.total_spent) >= 1000 ? "gold" : money(customer.total_spent) >= 500 ? "silver" : customer.orders_count >= 1 ? "bronze" : nil`: func(e *Env) (any, bool) {
		c := e.Customer
		for _, t := range c.Tags {
			if strings.EqualFold(strings.TrimSpace(t), "vip") {
				return "vip", true
			}
		}
		if !c.AggregatesKnown {
			return nil, true
		}
		spent := c.TotalSpent.InexactFloat64()
		switch {
		case math.IsNaN(spent) || math.IsInf(spent, 0):
			return nil, false
		case spent >= 1000:
			return "gold", true
		case spent >= 500:
			return "silver", true
		case c.OrdersCount >= 1:
			return "bronze", true
		}
		return nil, true
	},
	"customer.aggregates_known ? customer.average_order_value : nil": func(e *Env) (any, bool) {
		if !e.Customer.AggregatesKnown {
			return nil, true
		}
		return e.Customer.AverageOrderValue, true
	},
	"daysSince(customer.last_order_at)": func(e *Env) (any, bool) {
		t := e.Customer.LastOrderAt
		if t.IsZero() {
			return nil, true
		}
		return DaysSince(t, e.Now), true
	},
}

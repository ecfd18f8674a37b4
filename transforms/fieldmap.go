package transforms

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline/config"
)

// FieldMapping is the top-level `field_mapping:` section, the seed's sugar
// over a map stage. Two forms mix freely:
//
//	field_mapping:
//	  first_name: FIRSTNAME          # Shopify field → Brevo attribute
//	  AOV: safeDiv(money(customer.total_spent), customer.orders_count)  # attribute → expression
//	  loyalty_tier: false            # drop a default
//
// A lower-case key naming a known field (see DefaultFieldMapping) or a
// customer field renames it; any other key is a target and its value an
// expression. The defaults below are built in, so an absent section maps
// every seed field.
type FieldMapping struct {
	entries []mapping
	err     []fieldErr
}

type mapping struct {
	field  string // the Shopify field of a default, "" for user targets
	target string
	src    string
}

type fieldErr struct{ key, msg, hint string }

// DefaultField is one built-in entry of field_mapping.
type DefaultField struct {
	Field, Target, Expr string
}

// DefaultFieldMapping is the seed's mapping. Targets in lower case are not
// attributes: email, ext_id and phone are identifiers, email_consent and
// sms_consent the subscription state.
var DefaultFieldMapping = []DefaultField{
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

// NewFieldMapping returns the defaults.
func NewFieldMapping() any {
	f := &FieldMapping{}
	for _, d := range DefaultFieldMapping {
		f.entries = append(f.entries, mapping{field: d.Field, target: d.Target, src: d.Expr})
	}
	return f
}

var customerFields = exprFields(reflect.TypeOf(CustomerView{}))

// UnmarshalYAML reads the section in order; problems are reported by
// Validate with their path.
func (f *FieldMapping) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		f.err = append(f.err, fieldErr{"", "expected a mapping of Shopify field → attribute or attribute → expression", ""})
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			f.err = append(f.err, fieldErr{key, "expected an attribute name or an expression", ""})
			continue
		}
		off := val.Tag == "!!null" || (val.Tag == "!!bool" && (val.Value == "false"))
		if d, ok := defaultByField(key); ok || isLowerField(key) {
			// Shopify field → target.
			f.remove(func(m mapping) bool { return m.field == key })
			if off {
				continue
			}
			src := "customer." + key
			if ok {
				src = d.Expr
			}
			if !isTarget(val.Value) {
				f.err = append(f.err, fieldErr{key, fmt.Sprintf("%q is not an attribute name", val.Value), "write FIELD: ATTRIBUTE, e.g. first_name: FIRSTNAME, or ATTRIBUTE: expression"})
				continue
			}
			f.remove(func(m mapping) bool { return m.target == val.Value })
			f.entries = append(f.entries, mapping{field: key, target: val.Value, src: src})
			continue
		}
		if strings.ToLower(key) == key && !isSpecialTarget(key) {
			hint := config.Closest(key, append(defaultFields(), customerFields...))
			if hint != "" {
				hint = fmt.Sprintf("did you mean %s?", hint)
			} else {
				hint = "attribute names are upper case, e.g. AOV; Shopify fields are the customer fields of the README"
			}
			f.err = append(f.err, fieldErr{key, "unknown Shopify field", hint})
			continue
		}
		if off {
			f.remove(func(m mapping) bool { return m.target == key })
			continue
		}
		replaced := false
		for j := range f.entries {
			if f.entries[j].target == key {
				f.entries[j].src, f.entries[j].field, replaced = val.Value, "", true
			}
		}
		if !replaced {
			f.entries = append(f.entries, mapping{target: key, src: val.Value})
		}
	}
	return nil
}

func (f *FieldMapping) remove(match func(mapping) bool) {
	out := f.entries[:0]
	for _, m := range f.entries {
		if !match(m) {
			out = append(out, m)
		}
	}
	f.entries = out
}

func defaultByField(k string) (DefaultField, bool) {
	for _, d := range DefaultFieldMapping {
		if d.Field == k {
			return d, true
		}
	}
	return DefaultField{}, false
}

func defaultFields() []string {
	var out []string
	for _, d := range DefaultFieldMapping {
		out = append(out, d.Field)
	}
	return out
}

func isLowerField(k string) bool {
	for _, f := range customerFields {
		if f == k {
			return true
		}
	}
	return false
}

func isSpecialTarget(k string) bool {
	switch k {
	case "email", "ext_id", "phone", "email_consent", "sms_consent":
		return true
	}
	return false
}

func isTarget(s string) bool {
	if s == "" || isSpecialTarget(s) {
		return s != ""
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Validate compiles every entry.
func (f *FieldMapping) Validate(p *config.Problems, path string) {
	for _, e := range f.err {
		p.Add(config.Join(path, e.key), e.msg, e.hint)
	}
	for _, m := range f.entries {
		if _, err := compile(m.src, false); err != nil {
			key := m.target
			if m.field != "" {
				key = m.field
			}
			p.Add(config.Join(path, key), err.Error(), "")
		}
	}
}

// fields returns the mapping as map-stage fields.
func (f *FieldMapping) fields() []mapping { return f.entries }

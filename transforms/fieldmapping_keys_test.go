package transforms

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// Every field_mapping key has an effect: renaming an attribute key moves
// the attribute to the new name (the default one is gone), and `false` on
// an identifier or consent key (email, id, email_marketing_consent,
// sms_marketing_consent) leaves it out of what the contact is sent with.
func TestEveryFieldMappingKeyRenamesOrDropsItsTarget(t *testing.T) {
	attributes := map[string]string{ // key → default attribute
		"first_name": "FIRSTNAME", "last_name": "LASTNAME", "phone": "SMS", "orders_count": "ORDER_COUNT",
		"total_spent": "TOTAL_SPENT", "last_order_date": "LAST_ORDER_DATE", "tags": "TAGS", "customer_type": "CUSTOMER_TYPE",
		"preferred_language": "LANGUAGE", "loyalty_tier": "VIP_TIER", "average_order_value": "AOV", "days_since_last_order": "RECENCY",
	}
	run := func(mapping string) *output2 {
		t.Helper()
		c := newChain(t, mapping)
		at := t0.Add(-72 * time.Hour)
		c.mustRun(record(t, event(t, schemas.TypeOrderPlaced, "order", "1001", at,
			fmt.Sprintf(`{"id":1001,"total_price":"80.00","created_at":%q,"customer":{"id":42,"email":"zoe@example.com"}}`, at.Format(time.RFC3339)))))
		return c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "42", t0,
			`{"id":42,"email":"zoe@example.com","first_name":"Zoë","last_name":"Martin","phone":"+33612345678","tags":"vip","locale":"fr",
			  "email_marketing_consent":{"state":"subscribed"},"sms_marketing_consent":{"state":"subscribed"}}`)))
	}
	base := run("")
	for key, attr := range attributes {
		if base.Attrs[attr] == nil {
			t.Fatalf("the default mapping gives no %s (field_mapping.%s): %v", attr, key, base.Attrs)
		}
	}
	if base.Identifiers == nil || base.Identifiers.Email == "" || base.Identifiers.ExtID == "" || base.Consent == nil || base.Consent.Email == "" || base.Consent.SMS == "" {
		t.Fatalf("the default mapping gives identifiers %+v, consent %+v", base.Identifiers, base.Consent)
	}

	var yaml strings.Builder
	yaml.WriteString("field_mapping:\n")
	for key := range attributes {
		fmt.Fprintf(&yaml, "  %s: X_%s\n", key, strings.ToUpper(key))
	}
	yaml.WriteString("  email: false\n  id: false\n  email_marketing_consent: false\n  sms_marketing_consent: false\n")
	o := run(yaml.String())
	for key, attr := range attributes {
		renamed := "X_" + strings.ToUpper(key)
		if fmt.Sprint(o.Attrs[renamed]) != fmt.Sprint(base.Attrs[attr]) || o.Attrs[attr] != nil {
			t.Errorf("field_mapping.%s: %s → %s: got %s=%v and %s=%v, want %v under the new name only",
				key, attr, renamed, renamed, o.Attrs[renamed], attr, o.Attrs[attr], base.Attrs[attr])
		}
	}
	if id := o.Identifiers; id != nil && (id.Email != "" || id.ExtID != "") {
		t.Errorf("field_mapping email: false, id: false: identifiers %+v, want neither", id)
	}
	if c := o.Consent; c != nil && (c.Email != "" || c.SMS != "") {
		t.Errorf("field_mapping email_marketing_consent/sms_marketing_consent: false: consent %+v, want none", c)
	}
}

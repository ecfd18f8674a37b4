package transforms

import (
	"testing"

	"github.com/tajo/tajo/schemas"
)

// transforms.stages[].when restricts a map stage to the events it holds
// for: the stage writes IS_VIP on customer_updated only, and a
// customer_created event of the same vip customer passes without it, mapped by the other stages.
func TestMapStageWhenRestrictsItsEvents(t *testing.T) {
	c := newChain(t, `transforms:
  stages:
    - {name: contact, type: field_mapping}
    - {name: vip, type: map, fields: {IS_VIP: 'hasTag(customer.tags, "vip")'}, when: 'event.type == "customer_updated"'}
`)
	body := `{"id":7,"email":"vip@example.com","tags":"vip"}`
	o := c.mustRun(record(t, event(t, schemas.TypeCustomerUpdated, "customer", "7", t0, body)))
	if o == nil || o.Attrs["IS_VIP"] != true {
		t.Fatalf("customer_updated (when holds): attributes %v, want IS_VIP true", o)
	}
	o = c.mustRun(record(t, event(t, schemas.TypeCustomerCreated, "customer", "8", t0, `{"id":8,"email":"new@example.com","first_name":"Nia","tags":"vip"}`)))
	if o == nil {
		t.Fatal("customer_created (when does not hold) was dropped; the stage must only be skipped")
	}
	if v, ok := o.Attrs["IS_VIP"]; ok {
		t.Fatalf("customer_created (when does not hold): IS_VIP %v was written", v)
	}
	if o.Attrs["FIRSTNAME"] != "Nia" {
		t.Fatalf("customer_created lost the contact stage's attributes: %v", o.Attrs)
	}
}

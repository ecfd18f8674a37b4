package clickhouse

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/tajo/tajo/schemas"
)

// The commerce row of an order the transforms decoded (Event.Object) is
// the one its data gives when nobody decoded it.
func TestOrderCommerceMatchesItsData(t *testing.T) {
	for _, name := range []string{"orders-create.json", "orders-paid.json", "orders-cancelled.json", "orders-updated.json"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile("../../../shared/fixtures/shopify/webhooks/" + name)
			if err != nil {
				t.Fatalf("fixture: %v", err)
			}
			var o schemas.Order
			if err := json.Unmarshal(body, &o); err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(&o)
			if err != nil {
				t.Fatal(err)
			}
			var fromData, fromObject CommerceEvent
			dataCommerce(&fromData, data)
			orderCommerce(&fromObject, &o)
			if fmt.Sprintf("%+v", fromData) != fmt.Sprintf("%+v", fromObject) { // decimals compare by value
				t.Fatalf("decoded order gives\n%+v\nits data gives\n%+v", fromObject, fromData)
			}
			if fromObject.TotalPrice.IsZero() || fromObject.LineItems == 0 {
				t.Fatalf("the fixture's amounts were not read: %+v", fromObject)
			}
		})
	}
}

package admin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
)

func decodeAll(kind, jsonl string, maxLine int) ([]any, error) {
	var out []any
	_, err := admin.DecodeBulk(strings.NewReader(jsonl), kind, maxLine, 0, func(_ string, obj any, _ time.Time) error {
		out = append(out, obj)
		return nil
	})
	return out, err
}

const (
	order1 = `{"id":"gid://shopify/Order/9007199254740993","name":"#1","updatedAt":"2026-01-01T00:00:00Z","totalPriceSet":{"shopMoney":{"amount":"10.10","currencyCode":"EUR"}},"customer":{"id":"gid://shopify/Customer/9223372036854775807","firstName":"Zoë"}}`
	line1  = `{"id":"gid://shopify/LineItem/1","title":"Crème","quantity":2,"originalUnitPriceSet":{"shopMoney":{"amount":"5.05","currencyCode":"EUR"}},"__parentId":"gid://shopify/Order/9007199254740993"}`
	line2  = `{"id":"gid://shopify/LineItem/2","title":"抹茶","quantity":1,"product":null,"variant":{"id":"gid://shopify/ProductVariant/9007199254740995"},"__parentId":"gid://shopify/Order/9007199254740993"}`
	order2 = `{"id":"gid://shopify/Order/2","name":"#2","updatedAt":"2026-01-01T00:00:01Z"}`
)

func TestDecodeBulkReassemblesChildren(t *testing.T) {
	got, err := decodeAll(admin.KindOrder, order1+"\n"+line1+"\r\n\n"+line2+"\n"+order2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d orders", len(got))
	}
	o := got[0].(*schemas.Order)
	if o.ID != 9007199254740993 || o.Customer.ID != 9223372036854775807 || o.Customer.FirstName != "Zoë" {
		t.Fatalf("ids or unicode lost: %+v", o)
	}
	if len(o.LineItems) != 2 || o.LineItems[1].VariantID != 9007199254740995 || o.LineItems[0].Price.String() != "5.05" || o.LineItems[1].Title != "抹茶" {
		t.Fatalf("line items %+v", o.LineItems)
	}
	if o.TotalPrice.String() != "10.1" || len(got[1].(*schemas.Order).LineItems) != 0 {
		t.Fatalf("order %+v", got[1])
	}

	product := `{"id":"gid://shopify/Product/1","title":"P"}
{"id":"gid://shopify/MediaImage/7","mediaContentType":"IMAGE","image":{"url":"https://cdn/x.jpg","width":10},"__parentId":"gid://shopify/Product/1"}
{"id":"gid://shopify/ProductVariant/5","title":"S","price":"1.00","selectedOptions":[{"name":"Size","value":"S"}],"__parentId":"gid://shopify/Product/1"}
{"id":"gid://shopify/Video/9","mediaContentType":"VIDEO","__parentId":"gid://shopify/Product/1"}
{"id":"gid://shopify/MediaImage/8","mediaContentType":"IMAGE","image":{"url":"https://cdn/y.jpg","altText":"ÿ"},"__parentId":"gid://shopify/Product/1"}`
	got, err = decodeAll(admin.KindProduct, product, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := got[0].(*schemas.Product)
	if len(p.Variants) != 1 || len(p.Images) != 2 || p.Variants[0].Option1 != "S" || p.Images[1].Position != 2 || p.Images[1].ID != 8 || p.Images[1].Alt != "ÿ" || p.Variants[0].ProductID != 1 {
		t.Fatalf("product %+v", p)
	}
}

func TestDecodeBulkHostile(t *testing.T) {
	cases := []struct {
		name, kind, jsonl string
		maxLine           int
		want              string
	}{
		{"orphan child", admin.KindOrder, order1 + "\n" + order2 + "\n" + line1, 0, "line 3: child of gid://shopify/Order/9007199254740993 does not follow its parent (current parent: gid://shopify/Order/2); was the operation run without groupObjects: true?"},
		{"child first", admin.KindOrder, line1 + "\n" + order1, 0, "line 1: child of gid://shopify/Order/9007199254740993 does not follow its parent (current parent: none)"},
		{"customer child", admin.KindCustomer, `{"id":"gid://shopify/Customer/1"}` + "\n" + `{"id":"gid://shopify/Customer/2","__parentId":"gid://shopify/Customer/1"}`, 0, "line 2: unexpected child line"},
		{"unknown child", admin.KindProduct, `{"id":"gid://shopify/Product/1"}` + "\n" + `{"id":"gid://shopify/Collection/2","__parentId":"gid://shopify/Product/1"}`, 0, "line 2: unexpected child gid://shopify/Collection/2"},
		{"truncated", admin.KindOrder, order1 + "\n" + line1[:40], 0, "line 2: unexpected end of JSON input"},
		{"huge line", admin.KindCustomer, `{"id":"gid://shopify/Customer/1","note":"` + strings.Repeat("é", 1<<20) + `"}`, 1 << 20, "line 1: longer than 1048576 bytes"},
		{"wrong type", admin.KindCustomer, `{"id":"gid://shopify/Customer/1"}` + "\n" + `{"id":"gid://shopify/Customer/2","verifiedEmail":"yes"}`, 0, "line 2: json: cannot unmarshal string into Go struct field customerNode.verifiedEmail"},
		{"not json", admin.KindCustomer, "<html>", 0, "line 1: invalid character '<'"},
		{"no id", admin.KindCustomer, `{"email":"a@b.c"}`, 0, "line 1: object without an id"},
		{"bad gid", admin.KindOrder, `{"id":"gid://shopify/Order/-1"}`, 0, "object ending line 1: order id: id \"-1\": want a positive integer"},
		{"bad money", admin.KindOrder, order2 + "\n" + `{"id":"gid://shopify/LineItem/1","originalUnitPriceSet":{"shopMoney":{"amount":1e400}},"__parentId":"gid://shopify/Order/2"}`, 0, "line 2:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(tc.kind, tc.jsonl, tc.maxLine)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if pipeline.ClassOf(err) != pipeline.Fatal {
				t.Fatalf("class %v", pipeline.ClassOf(err))
			}
		})
	}

	// A large line under the limit is fine.
	got, err := decodeAll(admin.KindCustomer, `{"id":"gid://shopify/Customer/1","note":"`+strings.Repeat("日本", 300_000)+`"}`, 4<<20)
	if err != nil || len(got[0].(*schemas.Customer).Note) != 1_800_000 {
		t.Fatalf("large line: %v", err)
	}

	// Children are bounded per parent.
	var b strings.Builder
	b.WriteString(order2 + "\n")
	for i := range admin.MaxChildren + 1 {
		fmt.Fprintf(&b, `{"id":"gid://shopify/LineItem/%d","__parentId":"gid://shopify/Order/2"}`+"\n", i+1)
	}
	if _, err := decodeAll(admin.KindOrder, b.String(), 0); err == nil || !strings.Contains(err.Error(), "more than 50000 children") {
		t.Fatalf("unbounded children: %v", err)
	}
}

func TestDecodeBulkNestedParentKeyIsNotAChild(t *testing.T) {
	// __parentId as a key of a nested object does not make a line a child.
	got, err := decodeAll(admin.KindOrder, `{"id":"gid://shopify/Order/3","customer":{"id":"gid://shopify/Customer/4","__parentId":"x"}}`, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %d", err, len(got))
	}
}

package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// Reconciliation hands out one page at a time with the cursor to persist
// before the page's objects are acknowledged.
func ExampleClient_Reconcile() {
	store := shopifytest.New(shopifytest.Options{Customers: 5, Products: 1})
	defer store.Close()
	c, err := admin.New(admin.Config{Shop: store.Shop(), AccessToken: store.Options().AccessToken, AdminURL: store.URL()})
	if err != nil {
		panic(err)
	}
	var saved []byte // stands for the state store
	next, err := c.Reconcile(context.Background(), admin.KindCustomer, admin.Cursor{}, 2, func(p admin.Page) error {
		for _, o := range p.Objects {
			fmt.Println(o.ID, o.Value.(*schemas.Customer).FirstName)
		}
		saved, _ = json.Marshal(p.Next) // persist, then ack
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("next run from", next.Since.Format(time.RFC3339), len(saved) > 0)
	// Output:
	// 706405506930370084 محمد
	// 706405506930370085 Seán
	// 706405506930370086 Мария
	// 706405506930370087 José
	// 706405506930370088 Ngọc
	// next run from 2025-01-01T00:00:02Z true
}

// A backfill streams whole objects out of a bulk operation's result.
func ExampleClient_Backfill() {
	store := shopifytest.New(shopifytest.Options{Orders: 3, Products: 2, Customers: 2})
	defer store.Close()
	c, err := admin.New(admin.Config{Shop: store.Shop(), AccessToken: store.Options().AccessToken, AdminURL: store.URL(), PollInterval: time.Millisecond})
	if err != nil {
		panic(err)
	}
	op, err := c.Backfill(context.Background(), admin.KindOrder, time.Time{}, func(kind string, obj any, updatedAt time.Time) error {
		o := obj.(*schemas.Order)
		fmt.Println(kind, o.ID, o.Name, len(o.LineItems), "lines", o.TotalPrice.StringFixed(2))
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(op.Status)
	// Output:
	// order 820982911946154508 #1001 1 lines 436.39
	// order 820982911946154509 #1002 2 lines 415.27
	// order 820982911946154510 #1003 1 lines 436.39
	// COMPLETED
}

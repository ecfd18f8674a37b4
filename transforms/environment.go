package transforms

import (
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// The chain's side of the expression environment: the views of one
// record, built from its decoded item the first time a stage runs an
// expression on it.

// views back the pointers of expression.Env; the kinds an event does not
// carry point at shared zero views instead, which expressions cannot
// modify.
type views struct {
	event    expression.EventView
	customer expression.CustomerView
	shop     expression.ShopView
}

var (
	zeroOrder    expression.OrderView
	zeroCheckout expression.CheckoutView
	zeroProduct  expression.ProductView
)

// environment builds the expression environment once per record; the
// aggregates stage invalidates it when it loads newer aggregates.
func (it *item) environment() *expression.Env {
	if it.envDone {
		return &it.env
	}
	it.views = views{}
	v := &it.views
	e := &it.env
	*e = expression.Env{Event: &v.event, Customer: &v.customer, Order: &zeroOrder, Checkout: &zeroCheckout, Product: &zeroProduct, Shop: &v.shop}
	ev := &it.ev
	*e.Event = expression.EventView{
		ID: ev.ID, Type: ev.Type, Topic: ev.Topic, Source: ev.Source, Shop: ev.Shop,
		Kind: ev.Entity.Kind, EntityID: ev.Entity.ID, OccurredAt: ev.OccurredAt,
		ReceivedAt: ev.ReceivedAt, APIVersion: ev.APIVersion,
	}
	expression.FillCustomer(it.customer, e.Customer)
	if it.agg != nil {
		it.agg.view(e.Customer)
	}
	switch d := it.data.(type) {
	case *schemas.Order:
		e.Order = new(expression.OrderView)
		expression.FillOrder(d, e.Order)
	case *schemas.Refund:
		e.Order = &expression.OrderView{ID: int64(d.OrderID), Refunded: d.RefundedAmount()}
	case *schemas.Checkout:
		e.Checkout = new(expression.CheckoutView)
		expression.FillCheckout(d, e.Checkout)
	case *schemas.Product:
		e.Product = new(expression.ProductView)
		expression.FillProduct(d, e.Product)
	}
	if it.withheld != 0 {
		withhold(it.withheld, e)
	}
	*e.Shop = expression.ShopView{Domain: ev.Shop, Timezone: it.shop.loc.String(), Country: it.shop.country}
	e.Now = it.now
	it.envDone = true
	return e
}

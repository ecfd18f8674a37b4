package transforms

import (
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// An order the reconciliation reads back that tajo never saw placed (its
// orders/create never came) is order_placed: live when it is recent,
// historical (the backfill's source) when it was created more than a day
// before; once placed, no other event of it is order_placed again.
func TestReconciledOrderTajoNeverSawIsPlaced(t *testing.T) {
	reconciled := func(id int64, created, read time.Time) *schemas.Event {
		e := event(t, schemas.TypeOrderUpdated, "order", itoa(id), read.Add(-time.Minute), order(id, "40.00", created))
		e.Source, e.Topic, e.ReceivedAt = "shopify.reconcile", "orders/reconcile", read
		e.ID = schemas.NewID("reconcile", itoa(id), read.String())
		return e
	}
	webhook := func(typ string, id int64, at time.Time) *schemas.Event {
		e := event(t, typ, "order", itoa(id), at, order(id, "40.00", at))
		e.ID = schemas.NewID("webhook", typ, itoa(id), at.String())
		return e
	}
	type step struct {
		ev               *schemas.Event
		wantType, source string
	}
	fresh := reconciled(1001, t0.Add(-2*time.Hour), t0)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"never seen, created 2h before: a live order_placed, the same on redelivery; its late orders/create is an update", []step{
			{fresh, schemas.TypeOrderPlaced, "shopify.reconcile"},
			{fresh, schemas.TypeOrderPlaced, "shopify.reconcile"},
			{webhook(schemas.TypeOrderPlaced, 1001, t0.Add(-2*time.Hour)), schemas.TypeOrderUpdated, "shopify"},
			{reconciled(1001, t0.Add(-2*time.Hour), t0.Add(time.Hour)), schemas.TypeOrderUpdated, "shopify.reconcile"},
		}},
		{"never seen, created 3 days before: order_placed from the backfill's source (historical)", []step{
			{reconciled(1002, t0.Add(-72*time.Hour), t0), schemas.TypeOrderPlaced, "shopify.backfill"},
		}},
		{"placed by its webhook: the reconciliation is an update", []step{
			{webhook(schemas.TypeOrderPlaced, 1003, t0.Add(-2*time.Hour)), schemas.TypeOrderPlaced, "shopify"},
			{reconciled(1003, t0.Add(-2*time.Hour), t0), schemas.TypeOrderUpdated, "shopify.reconcile"},
		}},
		{"seen only through updates (orders/create lost): the reconciliation places it", []step{
			{webhook(schemas.TypeOrderUpdated, 1004, t0.Add(-2*time.Hour)), schemas.TypeOrderUpdated, "shopify"},
			{reconciled(1004, t0.Add(-2*time.Hour), t0), schemas.TypeOrderPlaced, "shopify.reconcile"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, "")
			for i, s := range tc.steps {
				out := c.mustRun(record(t, s.ev))
				if out == nil {
					t.Fatalf("step %d dropped", i)
				}
				if out.Type != s.wantType || out.Source != s.source {
					t.Errorf("step %d: type %s source %s, want %s from %s", i, out.Type, out.Source, s.wantType, s.source)
				}
				if out.Identifiers == nil || out.Identifiers.Email != "zoe@example.com" || out.Attrs["ORDER_COUNT"] != 1.0 {
					t.Errorf("step %d: the buyer's contact: %+v %v", i, out.Identifiers, out.Attrs)
				}
			}
		})
	}
}

package brevo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// sinks.brevo.historical.max_age: an order from a live source that is
// older than max_age when it arrives goes out historical (historical: true,
// no custom event, so no automation starts); a recent one stays live.
// With max_age 0 (off) the old one is live too.
func TestHistoricalMaxAgeMakesOldEventsHistorical(t *testing.T) {
	placed := func(id int, email string, age time.Duration) *pipeline.Record {
		return envelope(t, schemas.TypeOrderPlaced, schemas.KindOrder, fmt.Sprint(id), order(id, email, id), func(e *schemas.Event) {
			e.OccurredAt = time.Now().Add(-age)
		})
	}
	send := func(maxAge time.Duration, rec *pipeline.Record) (historical bool, events int) {
		t.Helper()
		srv := newSim(t, brevotest.Options{})
		s := newSink(t, srv, func(c *brevo.SinkConfig) { c.Historical.MaxAge = maxAge })
		if err := s.Write(context.Background(), []*pipeline.Record{rec}); err != nil {
			t.Fatal(err)
		}
		orders := srv.Orders()
		if len(orders) != 1 {
			t.Fatalf("max_age %s: %d orders reached Brevo, want 1", maxAge, len(orders))
		}
		return orders[0].Historical, len(srv.Events())
	}
	if h, n := send(24*time.Hour, placed(20, "old@example.com", 48*time.Hour)); !h || n != 0 {
		t.Errorf("max_age 24h, an order 48h old: historical %v with %d custom events, want historical and none", h, n)
	}
	if h, n := send(24*time.Hour, placed(21, "new@example.com", time.Minute)); h || n == 0 {
		t.Errorf("max_age 24h, an order a minute old: historical %v with %d custom events, want live with its order_placed", h, n)
	}
	if h, n := send(0, placed(22, "off@example.com", 48*time.Hour)); h || n == 0 {
		t.Errorf("max_age 0 (off), an order 48h old: historical %v with %d custom events, want live", h, n)
	}
}

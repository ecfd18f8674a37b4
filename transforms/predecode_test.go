package transforms

import (
	"fmt"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
)

// Records decoded ahead of the chain, on another goroutine while the chain
// works on earlier ones (as the engine does), come out exactly as records
// the chain decodes itself; under -race this also proves predecode reads
// nothing the stages write.
func TestPredecodeMatchesTheChainsOwnDecode(t *testing.T) {
	mk := func(i int) *pipeline.Record {
		at := t0.Add(time.Duration(i) * time.Minute)
		var ev *schemas.Event
		switch i % 3 {
		case 0:
			ev = event(t, schemas.TypeCustomerUpdated, "customer", fmt.Sprint(i%7+1), at, fmt.Sprintf(`{"id":%d,"email":"c%d@example.com","first_name":"N%d","updated_at":%q,"tags":"vip, t%d"}`, i%7+1, i%7, i, at.Format(time.RFC3339), i))
		case 1:
			ev = event(t, schemas.TypeOrderPlaced, "order", fmt.Sprint(1000+i), at, fmt.Sprintf(`{"id":%d,"email":"c%d@example.com","total_price":"12.50","currency":"EUR","created_at":%q,"updated_at":%q,"customer":{"id":%d,"email":"c%d@example.com"},"line_items":[{"id":1,"quantity":2,"price":"6.25","product_id":9}]}`, 1000+i, i%7, at.Format(time.RFC3339), at.Format(time.RFC3339), i%7+1, i%7))
		default:
			ev = event(t, schemas.TypeCustomerEmailConsentUpdated, "customer", fmt.Sprint(i%7+1), at, fmt.Sprintf(`{"customer_id":%d,"email_address":"c%d@example.com","email_marketing_consent":{"state":"subscribed","consent_updated_at":%q}}`, i%7+1, i%7, at.Format(time.RFC3339)))
		}
		return record(t, ev)
	}
	const n = 300
	plain, ahead := newChain(t, ""), newChain(t, "")
	pre, ok := ahead.ts[0].Transform.(pipeline.Predecoder)
	if !ok {
		t.Fatalf("the chain's first stage %T is not a pipeline.Predecoder", ahead.ts[0].Transform)
	}
	recs := make(chan *pipeline.Record, 16)
	go func() {
		defer close(recs)
		for i := 0; i < n; i++ {
			r := mk(i)
			pre.Predecode(r)
			recs <- r
		}
	}()
	i := 0
	for r := range recs {
		if r.Event == nil {
			t.Fatalf("record %d: not decoded ahead", i)
		}
		got, want := ahead.mustRun(r), plain.mustRun(mk(i))
		if (got == nil) != (want == nil) || (got != nil && string(got.raw) != string(want.raw)) {
			t.Fatalf("record %d: decoded ahead\n%v\nby the chain\n%v", i, got, want)
		}
		i++
	}
}

// A record that does not decode is left for the chain to reject.
func TestPredecodeLeavesABadRecordToTheChain(t *testing.T) {
	c := newChain(t, "")
	r := &pipeline.Record{Value: []byte(`{"schema":"tajo.event.v1","id":`)}
	c.ts[0].Transform.(pipeline.Predecoder).Predecode(r)
	if r.Event != nil || r.Cache != nil {
		t.Fatalf("a broken record was kept as decoded: %+v", r.Event)
	}
	if _, err := c.run(r); pipeline.CodeOf(err) != "bad_envelope" {
		t.Fatalf("want the chain's bad_envelope rejection, got %v", err)
	}
}

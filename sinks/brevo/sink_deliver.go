package brevo

import (
	"context"
	"errors"

	"github.com/tajo/tajo/pipeline"
)

// itemErrs spreads the outcome of a call over n items: nil, one error for
// all, or a BatchError with one outcome each.
func itemErrs(err error, n int) []error {
	out := make([]error, n)
	var be *pipeline.BatchError
	if errors.As(err, &be) && len(be.Errs) == n {
		copy(out, be.Errs)
		return out
	}
	for i := range out {
		out[i] = err
	}
	return out
}

// writeOrders sends live orders one by one to /orders/status (they may
// trigger automations) and historical ones through /orders/status/batch
// with historical: true (they never do).
func (s *Sink) writeOrders(ctx context.Context, plans []*plan, out *outcomes) {
	var live, hist []int
	for i, p := range plans {
		if p == nil || p.order == nil || out.failed(i) {
			continue
		}
		if p.historical {
			hist = append(hist, i)
		} else {
			live = append(live, i)
		}
	}
	// An order's statuses in one batch collapse to the last, which every
	// record of that order shares: sent side by side, an earlier status
	// could land after a later one.
	lastLive, liveRecs := lastPerOrder(plans, live)
	parallel(len(lastLive), 32, func(k int) {
		err := s.client.SendOrder(ctx, *plans[lastLive[k]].order)
		out.setAll(liveRecs[k], err)
	})
	lastHist, histRecs := lastPerOrder(plans, hist)
	orders := make([]Order, len(lastHist))
	for k, i := range lastHist {
		orders[k] = *plans[i].order
	}
	errs := isolate(len(orders), s.cfg.Batch.Orders.MaxRecords, func(lo, hi int) error {
		_, err := s.client.SendOrders(ctx, orders[lo:hi], true)
		return err
	})
	for k, e := range errs {
		out.setAll(histRecs[k], e)
	}
}

// lastPerOrder returns, per order id in first-seen order, the index of its
// last record and the indexes of all its records.
func lastPerOrder(plans []*plan, idx []int) (last []int, recs [][]int) {
	pos := map[string]int{}
	for _, i := range idx {
		id := plans[i].order.ID
		k, ok := pos[id]
		if !ok {
			k = len(last)
			pos[id] = k
			last, recs = append(last, i), append(recs, nil)
		}
		last[k] = i
		recs[k] = append(recs[k], i)
	}
	return last, recs
}

// isolate sends n items in chunks of at most size. Brevo refuses a whole
// batch for one bad item, so a chunk refused as a whole is split in halves
// until the bad items stand alone: one record is rejected, not its
// neighbours.
func isolate(n, size int, send func(lo, hi int) error) []error {
	errs := make([]error, n)
	var run func(lo, hi int)
	run = func(lo, hi int) {
		err := send(lo, hi)
		var be *pipeline.BatchError
		if err != nil && hi-lo > 1 && pipeline.ClassOf(err) == pipeline.Rejected && !errors.As(err, &be) {
			mid := (lo + hi) / 2
			run(lo, mid)
			run(mid, hi)
			return
		}
		copy(errs[lo:hi], itemErrs(err, hi-lo))
	}
	for lo := 0; lo < n; lo += size {
		run(lo, min(lo+size, n))
	}
	return errs
}

// writeCatalog upserts categories, then the products that name them.
func (s *Sink) writeCatalog(ctx context.Context, plans []*plan, out *outcomes) {
	var cats []Category
	var catRecs []int
	seen := map[string]bool{}
	var prods []Product
	var prodRecs []int
	for i, p := range plans {
		if p == nil {
			continue
		}
		for _, c := range p.categories {
			if !seen[c.ID] {
				seen[c.ID] = true
				cats, catRecs = append(cats, c), append(catRecs, i)
			}
		}
		for _, prod := range p.products {
			prods, prodRecs = append(prods, prod), append(prodRecs, i)
		}
	}
	size := s.cfg.Batch.Products.MaxRecords
	for k, e := range isolate(len(cats), size, func(lo, hi int) error {
		_, err := s.client.UpsertCategories(ctx, cats[lo:hi])
		return err
	}) {
		out.set(catRecs[k], e)
	}
	for k, e := range isolate(len(prods), size, func(lo, hi int) error {
		_, err := s.client.UpsertProducts(ctx, prods[lo:hi])
		return err
	}) {
		out.set(prodRecs[k], e)
	}
}

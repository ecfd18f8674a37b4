package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// This file is the sink side of a flow: in-order delivery with per-record
// outcomes, retries and the dead-letter path. What a sink did with each
// record goes to the flow's history (history.go) before the record is
// released.

// sinkLoop delivers batches to one sink in order: one Write at a time, or
// up to the sink's Pipeline() of them for a PipelinedSink, each numbered
// in batch order (BatchSeq). Records are acked in order either way (the
// tracker).
func (f *flow) sinkLoop(ctx context.Context, s *sinkWorker) {
	n := 1
	if p, ok := s.Sink.(PipelinedSink); ok {
		n = max(p.Pipeline(), 1)
	}
	if n == 1 {
		for b := range s.ch {
			if !f.deliver(ctx, s, b) {
				// Stopping or failed: drain the queue without acking anything.
				for range s.ch {
				}
				return
			}
		}
		return
	}
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	var stopped atomic.Bool
	var seq uint64
	for b := range s.ch {
		if stopped.Load() {
			continue // drain without acking anything
		}
		slots <- struct{}{}
		wg.Add(1)
		seq++
		bctx := context.WithValue(ctx, batchSeqKey{}, seq)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if !f.deliver(bctx, s, b) {
				stopped.Store(true)
			}
		}()
	}
	wg.Wait()
}

type batchSeqKey struct{}

// BatchSeq is, inside a PipelinedSink's Write, the number of the batch the
// call is for: 1, 2, 3… in the order the engine handed batches to that
// sink. A retry of a batch carries its number again. Concurrent calls may
// enter Write in any order; the number is how the sink restores theirs.
// 0 outside a pipelined Write.
func BatchSeq(ctx context.Context) uint64 {
	n, _ := ctx.Value(batchSeqKey{}).(uint64)
	return n
}

// deliver writes one batch until every record is delivered or
// dead-lettered, reports the outcomes to the history, and releases the
// records. It returns false when the flow is stopping or failed; the
// records not handled are then not released, so never acked.
func (f *flow) deliver(ctx context.Context, s *sinkWorker, b sinkBatch) bool {
	var outs []entryOutcome
	ok := f.writeAll(ctx, "sink:"+s.Name, b.recs,
		func(ctx context.Context, _ []int, recs []*Record) error { return s.Write(ctx, recs) },
		func(i int, result, why string, attempt int, took time.Duration) {
			if result == ResultDelivered {
				f.stats.Delivered.Add(1)
			}
			if b.hist != nil {
				outs = append(outs, entryOutcome{ent: b.ents[i], o: Outcome{Stage: s.Name, Record: b.recs[i], Result: result, Reason: why, Attempt: attempt, Latency: took}})
			}
		})
	if !ok || (b.hist != nil && !b.hist.report(outs)) {
		return false
	}
	releaseAll(b.refs)
	return true
}

// writeAll calls write until each of recs is delivered, skipped or
// rejected (and dead-lettered under stage), retrying the retryable ones;
// settle is told each record's final result once. write gets the indexes
// into recs still to write and those records. It returns false when the
// flow is stopping or failed.
func (f *flow) writeAll(ctx context.Context, stage string, recs []*Record,
	write func(ctx context.Context, idx []int, recs []*Record) error,
	settle func(i int, result, reason string, attempt int, took time.Duration)) bool {
	idx := make([]int, len(recs))
	for i := range idx {
		idx[i] = i
	}
	for attempt := 1; len(recs) > 0; attempt++ {
		start := time.Now()
		err := write(ctx, idx, recs)
		took := time.Since(start)
		if err == nil {
			for _, i := range idx {
				settle(i, ResultDelivered, "", attempt, took)
			}
			return true
		}
		var be *BatchError
		var perRec []error
		if errors.As(err, &be) && len(be.Errs) == len(recs) {
			perRec = be.Errs
		} else {
			perRec = make([]error, len(recs))
			for i := range perRec {
				perRec[i] = err
			}
		}
		var retryRecs, dlRecs []*Record
		var retryIdx []int
		var dlErrs []error
		var retryErr error
		for j, e := range perRec {
			i := idx[j]
			if skip := (*SkipError)(nil); errors.As(e, &skip) {
				// The sink chose to send nothing for this record (a test
				// order): handled, and the history says why.
				settle(i, ResultSkipped, skip.Reason, attempt, took)
				continue
			}
			switch ClassOf(e) {
			case 0:
				settle(i, ResultDelivered, "", attempt, took)
			case Rejected:
				dlRecs, dlErrs = append(dlRecs, recs[j]), append(dlErrs, e)
				settle(i, ResultRejected, reason(e), attempt, took)
			case Fatal:
				f.fail(fmt.Errorf("%s: %w", strings.Replace(stage, ":", " ", 1), e))
				return false
			default:
				retryRecs, retryIdx = append(retryRecs, recs[j]), append(retryIdx, i)
				retryErr = e
			}
		}
		if len(dlRecs) > 0 && !f.deadLetter(ctx, dlRecs, dlErrs, stage) {
			return false
		}
		recs, idx = retryRecs, retryIdx
		if len(recs) > 0 && !f.retryWait(ctx, stage, attempt, retryErr) {
			return false
		}
	}
	return true
}

func releaseAll(refs []*ackRef) {
	for _, r := range refs {
		r.release()
	}
}

// deadLetter stores rejected records; a failure to store them is fatal.
func (f *flow) deadLetter(ctx context.Context, recs []*Record, errs []error, stage string) bool {
	now := time.Now().UTC()
	dl := make([]DeadLetter, len(recs))
	for i, r := range recs {
		dl[i] = DeadLetter{Time: now, Stage: stage, Class: Rejected, Code: CodeOf(errs[i]), Reason: reason(errs[i]), Key: r.Key}
		var err error
		if dl[i].Payload, err = r.Bytes(); err != nil {
			// The record as the input gave it is gone with the change
			// that broke its encoding: say so rather than store nothing.
			dl[i].Reason += " (and its payload could not be encoded: " + err.Error() + ")"
		}
	}
	if err := f.dlq.WriteDeadLetters(ctx, dl); err != nil {
		f.fail(fmt.Errorf("dead-letter write failed, stopping rather than dropping %d rejected record(s) from %s: %w", len(dl), stage, err))
		return false
	}
	f.stats.Rejected.Add(int64(len(recs)))
	f.log.WithFields(logrus.Fields{"stage": stage, "count": len(recs)}).Debugf("dead-lettered: %s", dl[0].Reason)
	return true
}

// reason is the innermost message of a classified error.
func reason(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

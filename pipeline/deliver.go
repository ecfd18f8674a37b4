package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// This file is the sink side of a flow: in-order delivery with per-record
// outcomes, retries, the dead-letter path, and the sync history written
// before a record is released.

// sinkLoop delivers batches to one sink in order.
func (f *flow) sinkLoop(ctx context.Context, s *sinkWorker) {
	for b := range s.ch {
		if !f.deliver(ctx, s, b) {
			// Stopping or failed: drain the queue without acking anything.
			for range s.ch {
			}
			return
		}
	}
}

// deliver writes one batch until every record is delivered or
// dead-lettered, records the outcomes in the sync history, and releases the
// records. It returns false when the flow is stopping or failed; the
// records not handled are then not released, so never acked.
func (f *flow) deliver(ctx context.Context, s *sinkWorker, b sinkBatch) bool {
	recs, refs := b.recs, b.refs
	stage := "sink:" + s.Name
	handled := make([]*ackRef, 0, len(refs))
	var history []Outcome
	keep := f.recorder != nil && s.Name != f.recorderName
	note := func(r *Record, result, why string, attempt int, took time.Duration) {
		if keep {
			history = append(history, Outcome{Stage: s.Name, Record: r, Result: result, Reason: why, Attempt: attempt, Latency: took})
		}
	}
	for attempt := 1; len(recs) > 0; attempt++ {
		start := time.Now()
		err := s.Write(ctx, recs)
		took := time.Since(start)
		if err == nil {
			f.stats.Delivered.Add(int64(len(recs)))
			for _, r := range recs {
				note(r, ResultDelivered, "", attempt, took)
			}
			handled = append(handled, refs...)
			break
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
		var retryRefs []*ackRef
		var dlErrs []error
		var retryErr error
		for i, e := range perRec {
			if skip := (*SkipError)(nil); errors.As(e, &skip) {
				// The sink chose to send nothing for this record (a test
				// order): handled, and the history says why.
				note(recs[i], ResultSkipped, skip.Reason, attempt, took)
				handled = append(handled, refs[i])
				continue
			}
			switch ClassOf(e) {
			case 0:
				f.stats.Delivered.Add(1)
				note(recs[i], ResultDelivered, "", attempt, took)
				handled = append(handled, refs[i])
			case Rejected:
				dlRecs, dlErrs = append(dlRecs, recs[i]), append(dlErrs, e)
				note(recs[i], ResultRejected, reason(e), attempt, took)
				handled = append(handled, refs[i])
			case Fatal:
				f.fail(fmt.Errorf("sink %s: %w", s.Name, e))
				return false
			default:
				retryRecs, retryRefs = append(retryRecs, recs[i]), append(retryRefs, refs[i])
				retryErr = e
			}
		}
		if len(dlRecs) > 0 && !f.deadLetter(ctx, dlRecs, dlErrs, stage) {
			return false
		}
		recs, refs = retryRecs, retryRefs
		if len(recs) > 0 && !f.retryWait(ctx, stage, attempt, retryErr) {
			return false
		}
	}
	if !f.record(ctx, stage, history) {
		return false
	}
	releaseAll(handled)
	return true
}

// record writes outcomes to the sync history, retrying until it succeeds:
// a record is acked only once its history row is stored.
func (f *flow) record(ctx context.Context, stage string, outs []Outcome) bool {
	if f.recorder == nil || len(outs) == 0 {
		return true
	}
	for attempt := 1; ; attempt++ {
		err := f.recorder.RecordSinkOutcomes(ctx, outs)
		if err == nil {
			return true
		}
		if ClassOf(err) == Fatal {
			f.fail(fmt.Errorf("recording the sync history of %s: %w", stage, err))
			return false
		}
		if !f.retryWait(ctx, "history:"+stage, attempt, err) {
			return false
		}
	}
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
		dl[i] = DeadLetter{Time: now, Stage: stage, Class: Rejected, Code: CodeOf(errs[i]), Reason: reason(errs[i]), Key: r.Key, Payload: r.Value}
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

package plugins

import (
	"context"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// The webhook log is informational (pipeline.WebhookLogger): entries are
// queued without blocking the request that produced them, written in
// batches, and dropped, never waited for, when the logger falls behind.
// A batch the logger could not take for a while (a chDB history busy
// with one `tajo query`, up to its 5 min cap) is kept and offered again
// every webhookLogEvery for webhookLogRetryFor, up to webhookLogQueue
// entries, before it is dropped with a warning.
const (
	webhookLogQueue    = 4096
	webhookLogBatch    = 512
	webhookLogEvery    = time.Second
	webhookLogRetryFor = 6 * time.Minute
)

// logWebhook queues one entry; it never blocks.
func (s *Source) logWebhook(start time.Time, info WebhookInfo, status, size int) {
	if s.weblog == nil {
		return
	}
	e := pipeline.WebhookLog{
		Time: start.UTC(), Shop: info.Shop, Topic: info.Topic, WebhookID: info.WebhookID,
		APIVersion: info.APIVersion, HMAC: info.HMAC, Status: status, Bytes: size, Latency: time.Since(start),
	}
	select {
	case s.weblog <- e:
	default:
		s.log.Debug("webhook log entry dropped: the logger is behind")
	}
}

// refused counts a request answered without its sender being
// authenticated and logs a sample of them: a flood of unsigned requests
// must not become a flood of webhook log rows.
func (s *Source) refused(start time.Time, info WebhookInfo, status, size int) {
	s.ingress.refused.Add(1)
	if s.ingress.sample(start) {
		s.logWebhook(start, info, status, size)
	}
}

// writeWebhookLog batches queued entries to cfg.Webhooks until Close,
// then writes what is left.
func (s *Source) writeWebhookLog() {
	t := time.NewTicker(webhookLogEvery)
	defer t.Stop()
	batch := make([]pipeline.WebhookLog, 0, webhookLogBatch)
	var failing time.Time // when the batch held now first failed
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.cfg.Webhooks.LogWebhooks(ctx, batch)
		cancel()
		if err != nil && pipeline.ClassOf(err) == pipeline.Retryable && len(batch) < webhookLogQueue &&
			(failing.IsZero() || time.Since(failing) < webhookLogRetryFor) {
			if failing.IsZero() {
				failing = time.Now()
			}
			s.log.WithError(err).WithField("entries", len(batch)).Debug("webhook log not written yet: kept for the next try")
			return
		}
		if err != nil {
			s.log.WithError(err).WithField("entries", len(batch)).Warn("webhook log not written")
		}
		batch, failing = batch[:0], time.Time{}
	}
	for {
		select {
		case e := <-s.weblog:
			batch = append(batch, e)
			// While a batch is failing, only the ticker tries again.
			if len(batch) >= webhookLogBatch && failing.IsZero() || len(batch) >= webhookLogQueue {
				flush()
			}
		case <-t.C:
			flush()
		case <-s.done:
			for {
				select {
				case e := <-s.weblog:
					batch = append(batch, e)
				default:
					flush()
					return
				}
			}
		}
	}
}

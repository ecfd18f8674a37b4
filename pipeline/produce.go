package pipeline

import (
	"context"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tajo/tajo/pipeline/class"
	"github.com/tajo/tajo/pipeline/kafka"
)

// producer is the sink of an ingest flow: it writes records to the events
// topic and returns only when every broker replica has them. A record the
// broker can never take (too large, invalid) is rejected with its size
// and the limit, so it goes to the dead-letter path (the error history)
// and the rest of the flow goes on; only what can succeed later is
// retried.
type producer struct {
	p *kafka.Producer
}

func (p *producer) Open(context.Context) error { return nil }

func (p *producer) Write(ctx context.Context, batch []*Record) error {
	// The Kafka timestamp is when tajo wrote the record, not the event's
	// own time (that is in the envelope): topic retention counts from the
	// write, so a backfilled 2022 order is not expired as soon as it lands.
	now := time.Now()
	msgs := make([]kafkago.Message, len(batch))
	var bad []error
	for i, r := range batch {
		v, err := r.Bytes()
		if err != nil {
			if bad == nil {
				bad = make([]error, len(batch))
			}
			bad[i] = Reject("encode", err)
			continue
		}
		msgs[i] = kafkago.Message{Key: r.Key, Value: v, Time: now}
	}
	if bad != nil {
		return p.writeSome(ctx, msgs, bad)
	}
	errs := p.p.Write(ctx, msgs)
	if errs == nil {
		return nil
	}
	out := make([]error, len(errs))
	for i, err := range errs {
		out[i] = classifyKafka(err)
	}
	return &BatchError{Errs: out}
}

// writeSome writes the messages whose record encoded (bad[i] == nil) and
// rejects the others.
func (p *producer) writeSome(ctx context.Context, msgs []kafkago.Message, bad []error) error {
	var idx []int
	var good []kafkago.Message
	for i := range msgs {
		if bad[i] == nil {
			idx, good = append(idx, i), append(good, msgs[i])
		}
	}
	for j, err := range p.p.Write(ctx, good) {
		bad[idx[j]] = classifyKafka(err)
	}
	return &BatchError{Errs: bad}
}

// classifyKafka gives a produce failure the class the Kafka package found
// for it (its kinds are the engine's classes).
func classifyKafka(err error) error {
	if err == nil {
		return nil
	}
	kind, code := kafka.Classify(err)
	return class.New(kind, code, err)
}

func (p *producer) Close(context.Context) error { return p.p.Close() }

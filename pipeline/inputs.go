package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
)

// sourceInput adapts a Source: one lane, positions acked as soon as they
// are released (a webhook's HTTP answer waits on it).
type sourceInput struct {
	name  string
	src   Source
	max   int
	retry config.Retry
	log   *logrus.Entry
}

func (s *sourceInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	for attempt := 0; ; {
		recs, err := s.src.Read(ctx, s.max)
		for _, r := range recs {
			if !emit(0, r.Position, r) {
				return nil
			}
		}
		switch {
		case err == nil:
			attempt = 0
		case errors.Is(err, io.EOF):
			s.log.Info("source finished")
			return nil
		case ctx.Err() != nil:
			return nil
		case ClassOf(err) == Fatal:
			return fmt.Errorf("source %s: %w", s.name, err)
		default:
			attempt++
			wait := backoff(s.retry, attempt)
			s.log.WithError(err).WithField("wait", wait.Round(time.Millisecond)).Warn("source read failed; retrying")
			if !sleep(ctx, wait) {
				return nil
			}
		}
	}
}

func (s *sourceInput) ack(ctx context.Context, ready map[int32][]any) error {
	items := ready[0]
	if len(items) == 0 {
		return nil
	}
	pos := make([]Position, len(items))
	for i, it := range items {
		pos[i], _ = it.(Position)
	}
	return s.src.Ack(ctx, pos)
}

func (s *sourceInput) ackEvery() time.Duration { return 0 }

// kafkaInput reads a topic as a member of a consumer group and commits, per
// partition, the offset after the last released record.
type kafkaInput struct {
	r     *kafkago.Reader
	every time.Duration
	retry config.Retry
	log   *logrus.Entry
}

func (k *kafkaInput) run(ctx context.Context, emit func(int32, any, *Record) bool) error {
	for attempt := 0; ; {
		m, err := k.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			attempt++
			wait := backoff(k.retry, attempt)
			k.log.WithError(err).WithField("wait", wait.Round(time.Millisecond)).Warn("kafka fetch failed; retrying")
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		attempt = 0
		// The position of a Kafka record is its partition and offset, so
		// stages can tell a redelivery of one message from a duplicate.
		pos := make(Position, 12)
		binary.BigEndian.PutUint32(pos, uint32(m.Partition))
		binary.BigEndian.PutUint64(pos[4:], uint64(m.Offset))
		rec := &Record{Key: m.Key, Value: m.Value, Time: m.Time, Position: pos}
		// Only what a commit needs is kept in the tracker.
		if !emit(int32(m.Partition), kafkago.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}, rec) {
			return nil
		}
	}
}

func (k *kafkaInput) ack(ctx context.Context, ready map[int32][]any) error {
	msgs := make([]kafkago.Message, 0, len(ready))
	for _, items := range ready {
		if len(items) > 0 {
			msgs = append(msgs, items[len(items)-1].(kafkago.Message))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := k.r.CommitMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	return nil
}

func (k *kafkaInput) ackEvery() time.Duration { return k.every }

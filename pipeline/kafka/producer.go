package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	kafkago "github.com/segmentio/kafka-go"
)

// maxRecordBytes bounds one record before compression. Larger ones are
// rejected without being sent: no accepted webhook comes near it, and a
// broker limit that large is not worth a round trip to find out.
const maxRecordBytes = 64 << 20

// Limit is the largest message the broker accepts for a topic and where
// that figure comes from.
type Limit struct {
	Bytes int
	// Source is "topic <name> max.message.bytes",
	// "broker message.max.bytes" or "broker.max_message_bytes".
	Source string
}

// Producer writes records to one topic within the broker's message size:
// batches are split below it, a record too large for a batch goes alone,
// and a record the broker refuses comes back as a Rejected *WriteError
// with its size and the limit, while the rest of the batch is written.
type Producer struct {
	topic      string
	limit      Limit
	compressed bool
	batchBytes int
	batch      *kafkago.Writer // up to batchSize records, batchBytes bytes
	one        *kafkago.Writer // one record per request
}

// NewProducer returns a producer to topic that keeps its requests within
// lim (from MaxMessage).
func (c *Conn) NewProducer(topic string, batchSize int, lim Limit) *Producer {
	p := &Producer{topic: topic, limit: lim, compressed: c.Compression != 0}
	p.batchBytes = batchBytes(lim.Bytes, p.compressed)
	p.batch = c.newWriter(topic, batchSize, int64(p.batchBytes))
	p.one = c.newWriter(topic, 1, maxRecordBytes)
	return p
}

// batchBytes is the uncompressed size a batch may reach under limit.
// kafka-go counts bytes before compression, the broker after; the margin
// covers the batch header and what a codec adds to data it cannot shrink
// (snappy's worst case is n/6). A batch that still ends up too large is
// written again record by record.
func batchBytes(limit int, compressed bool) int {
	n := limit - 1<<10
	if compressed {
		n -= limit / 6
	}
	return max(n, 1<<9)
}

// Limit is the message size limit the producer works with.
func (p *Producer) Limit() Limit { return p.limit }

// BatchBytes is the largest batch, before compression, the producer sends.
func (p *Producer) BatchBytes() int { return p.batchBytes }

// Size is a record's size as kafka-go counts it against a batch limit.
func Size(m kafkago.Message) int {
	n := 4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8
	for _, h := range m.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// Write writes msgs in order and returns nil when every one is on the
// broker, otherwise one error per message (nil = written). Records of the
// same key keep their order. After a retryable or fatal failure nothing
// further is tried (the broker would answer the same, and what follows
// must stay behind what failed): the records not tried carry that error.
func (p *Producer) Write(ctx context.Context, msgs []kafkago.Message) []error {
	errs := make([]error, len(msgs))
	var stop error
	start := 0
	flush := func(end int) {
		if end > start {
			stop = p.writeBatch(ctx, msgs[start:end], errs[start:end], stop)
		}
	}
	for i := range msgs {
		n := Size(msgs[i])
		if n <= p.batchBytes {
			continue
		}
		flush(i)
		start = i + 1
		if stop != nil {
			errs[i] = stop
			continue
		}
		errs[i] = p.writeAlone(ctx, msgs[i], n)
		if !isRejected(errs[i]) {
			stop = errs[i]
		}
	}
	flush(len(msgs))
	for _, e := range errs {
		if e != nil {
			return errs
		}
	}
	return nil
}

func isRejected(err error) bool {
	k, _ := Classify(err)
	return err == nil || k == Rejected
}

// writeBatch writes msgs (each at most batchBytes) and fills errs, or
// fills them with stop when that is set. A batch the broker refuses as a
// whole because of its content is written again record by record, so
// only the records at fault are rejected. It returns the first retryable
// or fatal failure, or stop.
func (p *Producer) writeBatch(ctx context.Context, msgs []kafkago.Message, errs []error, stop error) error {
	if stop != nil {
		for i := range errs {
			errs[i] = stop
		}
		return stop
	}
	err := p.batch.WriteMessages(ctx, msgs...)
	if err == nil {
		return nil
	}
	var we kafkago.WriteErrors
	if !errors.As(err, &we) || len(we) != len(msgs) {
		stop = p.wrap(err, 0)
		if isRejected(stop) {
			// Not a broker answer per record (kafka-go's own size check):
			// find the records at fault one by one.
			we = make(kafkago.WriteErrors, len(msgs))
			for i := range we {
				we[i] = err
			}
			stop = nil
		} else {
			for i := range errs {
				errs[i] = stop
			}
			return stop
		}
	}
	for i, e := range we {
		switch {
		case e == nil:
		case stop != nil:
			errs[i] = stop
		case isRejected(e):
			errs[i] = p.writeAlone(ctx, msgs[i], Size(msgs[i]))
		default:
			errs[i] = p.wrap(e, Size(msgs[i]))
		}
		if !isRejected(errs[i]) && stop == nil {
			stop = errs[i]
		}
	}
	return stop
}

// writeAlone writes one record in its own request.
func (p *Producer) writeAlone(ctx context.Context, m kafkago.Message, n int) error {
	// Uncompressed, a record over the limit cannot fit; compressed, only
	// the broker can tell.
	if n > maxRecordBytes || (!p.compressed && n > p.limit.Bytes) {
		return p.tooLarge(n, nil)
	}
	err := p.one.WriteMessages(ctx, m)
	if err == nil {
		return nil
	}
	var we kafkago.WriteErrors
	if errors.As(err, &we) && len(we) == 1 {
		err = we[0]
	}
	if _, code := Classify(err); code == CodeTooLarge {
		return p.tooLarge(n, err)
	}
	return p.wrap(err, n)
}

func (p *Producer) tooLarge(n int, cause error) error {
	how := ""
	if p.compressed {
		how = " even compressed"
	}
	msg := fmt.Sprintf("event of %d bytes does not fit%s in a Kafka message: the limit is %d bytes (%s)", n, how, p.limit.Bytes, p.limit.Source)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &WriteError{Kind: Rejected, Code: CodeTooLarge, Size: n, Limit: p.limit.Bytes, Err: errors.New(msg)}
}

func (p *Producer) wrap(err error, n int) error {
	kind, code := Classify(err)
	return &WriteError{Kind: kind, Code: code, Size: n, Limit: p.limit.Bytes, Err: fmt.Errorf("kafka write to %s: %w", p.topic, err)}
}

// Close flushes and closes the writers.
func (p *Producer) Close() error {
	return errors.Join(p.batch.Close(), p.one.Close())
}

// MaxMessage asks the broker for topic's limit: the topic's own
// max.message.bytes when it sets one, else the broker's message.max.bytes
// (what Kafka applies to a topic without an override), else whatever the
// topic reports. When the broker does not answer (an ACL may deny
// DescribeConfigs) it is broker.max_message_bytes.
func (c *Conn) MaxMessage(ctx context.Context, topic string) Limit {
	cl := c.client()
	tn, own, tok := describe(ctx, cl, kafkago.ResourceTypeTopic, topic, "max.message.bytes")
	if tok && own {
		return Limit{Bytes: tn, Source: "topic " + topic + " max.message.bytes"}
	}
	if md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}}); err == nil && len(md.Brokers) > 0 {
		id := strconv.Itoa(md.Brokers[0].ID)
		if n, _, ok := describe(ctx, cl, kafkago.ResourceTypeBroker, id, "message.max.bytes"); ok {
			return Limit{Bytes: n, Source: "broker message.max.bytes"}
		}
	}
	if tok {
		return Limit{Bytes: tn, Source: "topic " + topic + " max.message.bytes"}
	}
	return Limit{Bytes: c.MaxMessageBytes, Source: "broker.max_message_bytes"}
}

// configSourceTopic is DescribeConfigs' DYNAMIC_TOPIC_CONFIG: the value is
// the topic's own.
const configSourceTopic = 1

// describe returns one config value of a resource and whether the
// resource sets it itself.
func describe(ctx context.Context, cl *kafkago.Client, typ kafkago.ResourceType, name, key string) (int, bool, bool) {
	resp, err := cl.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{
		Resources: []kafkago.DescribeConfigRequestResource{{ResourceType: typ, ResourceName: name, ConfigNames: []string{key}}},
	})
	if err != nil {
		return 0, false, false
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return 0, false, false
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != key {
				continue
			}
			if n, err := strconv.Atoi(e.ConfigValue); err == nil && n > 0 {
				return n, e.ConfigSource == configSourceTopic, true
			}
		}
	}
	return 0, false, false
}

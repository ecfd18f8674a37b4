package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/config"
)

// Conn holds what every client of one cluster shares.
type Conn struct {
	Brokers  []string
	ClientID string
	TLS      *tls.Config
	SASL     sasl.Mechanism
	// BatchTimeout is how long a writer holds a partial batch
	// (broker.batch_timeout). The engine hands the writer whole batches
	// from one caller at a time, so waiting never makes one larger: it is
	// only latency, kept to a millisecond by default.
	BatchTimeout time.Duration
	WriteTimeout time.Duration
	// Compression of produced batches.
	Compression kafkago.Compression
	// MaxMessageBytes is the limit assumed when the broker does not report
	// its own (broker.max_message_bytes).
	MaxMessageBytes int
	// Retention is the retention.ms given to topics tajo creates.
	Retention time.Duration
	transport *kafkago.Transport
}

// NewConn builds a connection from the broker section; addrs overrides
// b.Brokers (the embedded broker's addresses). With no external brokers
// the client authenticates to the embedded broker with
// broker.embedded.sasl, if set.
func NewConn(b config.Broker, addrs []string) (*Conn, error) {
	c := &Conn{
		Brokers:         addrs,
		ClientID:        b.ClientID,
		BatchTimeout:    b.BatchTimeout,
		WriteTimeout:    b.WriteTimeout,
		MaxMessageBytes: b.MaxMessageBytes,
		Retention:       b.Retention,
	}
	if len(c.Brokers) == 0 {
		c.Brokers = b.Brokers
	}
	codec, err := compression(b.Compression)
	if err != nil {
		return nil, fmt.Errorf("broker.compression: %w", err)
	}
	c.Compression = codec
	t, err := b.TLS.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("broker.tls: %w", err)
	}
	c.TLS = t
	auth, path := b.SASL, "broker.sasl"
	if len(b.Brokers) == 0 {
		auth, path = b.Embedded.SASL, "broker.embedded.sasl"
	}
	if auth.Mechanism != "" {
		m, err := saslMechanism(auth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.SASL = m
	}
	c.transport = &kafkago.Transport{ClientID: c.ClientID, TLS: c.TLS, SASL: c.SASL, DialTimeout: 5 * time.Second}
	return c, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	switch strings.ToLower(s.Mechanism) {
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password.Reveal())
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password.Reveal())
	}
	return nil, fmt.Errorf("unknown mechanism %q", s.Mechanism)
}

func compression(name string) (kafkago.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafkago.Gzip, nil
	case "snappy":
		return kafkago.Snappy, nil
	case "lz4":
		return kafkago.Lz4, nil
	case "zstd":
		return kafkago.Zstd, nil
	}
	return 0, fmt.Errorf("unknown codec %q", name)
}

// TopicMaxMessageBytes is the max.message.bytes of the topics tajo
// creates: the largest webhook body the host accepts (5 MiB) appears twice
// in its envelope (the canonical object and the raw body), plus headers
// and the envelope's own fields; 16 MiB leaves room for all of it. Readers
// fetch up to this size too.
const TopicMaxMessageBytes = 16 << 20

// Topic is a topic to create on start.
type Topic struct {
	Name              string
	Partitions        int
	ReplicationFactor int
}

func (c *Conn) client() *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Transport: c.transport, Timeout: 10 * time.Second}
}

// EnsureTopics creates the topics that do not exist yet, with
// max.message.bytes = TopicMaxMessageBytes and retention.ms from
// broker.retention. Existing topics are left as they are (a partition
// count or a limit is never changed behind the operator's back); the
// producer reads their limit from the broker.
func (c *Conn) EnsureTopics(ctx context.Context, topics ...Topic) error {
	cl := c.client()
	req := &kafkago.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafkago.TopicConfig{
			Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: t.ReplicationFactor,
			ConfigEntries: c.topicConfig(),
		})
	}
	var resp *kafkago.CreateTopicsResponse
	var err error
	// A broker that has just started may not have elected a controller yet.
	controller := backoff.Policy{Initial: 250 * time.Millisecond, MaxAttempts: 20}
	for attempt := 1; ; attempt++ {
		resp, err = cl.CreateTopics(ctx, req)
		if err == nil || ctx.Err() != nil || controller.Exhausted(attempt) || backoff.Sleep(ctx, controller.Delay(attempt)) != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create topics on %s: %w", strings.Join(c.Brokers, ","), err)
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafkago.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, terr)
		}
	}
	return nil
}

func (c *Conn) topicConfig() []kafkago.ConfigEntry {
	entries := []kafkago.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(TopicMaxMessageBytes)}}
	if c.Retention > 0 {
		entries = append(entries, kafkago.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(c.Retention.Milliseconds(), 10)})
	}
	return entries
}

// newWriter returns a writer to topic: RequiredAcks all, hash balancer on
// the key, a short batch timeout, batches of at most batchBytes before
// compression. WriteMessages blocks until every message is acknowledged
// by all in-sync replicas. kafka-go applies batchBytes per partition batch
// and fails a whole WriteMessages call when one message is larger, which
// is why only the Producer builds writers.
func (c *Conn) newWriter(topic string, batchSize int, batchBytes int64) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    batchSize,
		BatchBytes:   batchBytes,
		BatchTimeout: c.BatchTimeout,
		WriteTimeout: c.WriteTimeout,
		Compression:  c.Compression,
		MaxAttempts:  1, // the engine retries with backoff and knows what failed
		Transport:    c.transport,
	}
}

// NewReader returns a consumer-group reader on topic. Offsets are committed
// only by explicit CommitMessages calls.
func (c *Conn) NewReader(topic, group string) *kafkago.Reader {
	dialer := &kafkago.Dialer{ClientID: c.ClientID, TLS: c.TLS, SASLMechanism: c.SASL, Timeout: 10 * time.Second, DualStack: true}
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               group,
		Topic:                 topic,
		Dialer:                dialer,
		MinBytes:              1,
		MaxBytes:              TopicMaxMessageBytes + 1<<20,
		MaxWait:               250 * time.Millisecond,
		QueueCapacity:         1000,
		CommitInterval:        0, // synchronous, explicit commits only
		StartOffset:           kafkago.FirstOffset,
		SessionTimeout:        6 * time.Second,
		RebalanceTimeout:      6 * time.Second,
		HeartbeatInterval:     time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        500 * time.Millisecond,
		WatchPartitionChanges: true,
	})
}

// Reachable dials the first reachable broker, for a quick start-up check.
func (c *Conn) Reachable(ctx context.Context) error {
	var last error
	for _, b := range c.Brokers {
		d := net.Dialer{Timeout: 3 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("no broker reachable in %s: %w", strings.Join(c.Brokers, ","), last)
}

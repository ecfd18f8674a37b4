package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/tajo/tajo/pipeline/config"
)

// Conn holds what every client of one cluster shares.
type Conn struct {
	Brokers      []string
	ClientID     string
	TLS          *tls.Config
	SASL         sasl.Mechanism
	BatchTimeout time.Duration
	WriteTimeout time.Duration
	transport    *kafkago.Transport
}

// NewConn builds a connection from the broker section; addrs overrides
// b.Brokers (the embedded broker's addresses).
func NewConn(b config.Broker, addrs []string) (*Conn, error) {
	c := &Conn{
		Brokers:      addrs,
		ClientID:     b.ClientID,
		BatchTimeout: b.BatchTimeout,
		WriteTimeout: b.WriteTimeout,
	}
	if len(c.Brokers) == 0 {
		c.Brokers = b.Brokers
	}
	t, err := b.TLS.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("broker.tls: %w", err)
	}
	c.TLS = t
	if b.SASL.Mechanism != "" {
		m, err := saslMechanism(b.SASL)
		if err != nil {
			return nil, fmt.Errorf("broker.sasl: %w", err)
		}
		c.SASL = m
	}
	c.transport = &kafkago.Transport{ClientID: c.ClientID, TLS: c.TLS, SASL: c.SASL, DialTimeout: 5 * time.Second}
	return c, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	switch strings.ToLower(s.Mechanism) {
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password)
	}
	return nil, fmt.Errorf("unknown mechanism %q", s.Mechanism)
}

// Topic is a topic to create on start.
type Topic struct {
	Name              string
	Partitions        int
	ReplicationFactor int
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are
// left as they are (a partition count is never changed behind the
// operator's back).
func (c *Conn) EnsureTopics(ctx context.Context, topics ...Topic) error {
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Transport: c.transport, Timeout: 10 * time.Second}
	req := &kafkago.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafkago.TopicConfig{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: t.ReplicationFactor})
	}
	var resp *kafkago.CreateTopicsResponse
	var err error
	// A broker that has just started may not have elected a controller yet.
	for attempt := 0; attempt < 20; attempt++ {
		resp, err = cl.CreateTopics(ctx, req)
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
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

// NewWriter returns a writer to topic: RequiredAcks all, hash balancer on
// the key, a short batch timeout. WriteMessages blocks until every message
// is acknowledged by all in-sync replicas.
func (c *Conn) NewWriter(topic string, batchSize int) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    batchSize,
		BatchBytes:   64 << 20,
		BatchTimeout: c.BatchTimeout,
		WriteTimeout: c.WriteTimeout,
		MaxAttempts:  1, // the runner retries with backoff and knows what failed
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
		MaxBytes:              16 << 20,
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

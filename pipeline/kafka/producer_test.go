package kafka_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tajo/tajo/pipeline/broker"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/kafka"
)

const topic = "t.events.v1"

func quiet() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// env is an embedded broker over loopback and a connection to it.
type env struct {
	t    testing.TB
	conn *kafka.Conn
	ctx  context.Context
}

// start runs the embedded broker with a broker-wide message.max.bytes of
// brokerMax (0: kfake's default, 1 MiB) and a connection compressing with
// codec.
func start(t testing.TB, brokerMax int, codec string) *env {
	t.Helper()
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), MaxMessageBytes: brokerMax, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return connect(t, b.Addrs(), codec)
}

func connect(t testing.TB, addrs []string, codec string) *env {
	t.Helper()
	bc := config.Default().Broker
	bc.Compression = codec
	conn, err := kafka.NewConn(bc, addrs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &env{t: t, conn: conn, ctx: ctx}
}

// tajoTopic creates the topic as tajo does (with its own limit).
func (e *env) tajoTopic() {
	e.t.Helper()
	if err := e.conn.EnsureTopics(e.ctx, kafka.Topic{Name: topic, Partitions: 3, ReplicationFactor: 1}); err != nil {
		e.t.Fatal(err)
	}
}

// operatorTopic creates the topic without any config, as an operator's
// pre-existing topic: it takes the broker's message.max.bytes.
func (e *env) operatorTopic() {
	e.t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(e.conn.Brokers...), Timeout: 10 * time.Second}
	resp, err := cl.CreateTopics(e.ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, err := range resp.Errors {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) producer(batch int) *kafka.Producer {
	p := e.conn.NewProducer(topic, batch, e.conn.MaxMessage(e.ctx, topic))
	e.t.Cleanup(func() { p.Close() })
	return p
}

// read returns the values of the first n messages on the topic, by key.
func (e *env) read(n int) map[string][]byte {
	e.t.Helper()
	r := e.conn.NewReader(topic, fmt.Sprintf("g-%d", time.Now().UnixNano()))
	defer r.Close()
	got := map[string][]byte{}
	for len(got) < n {
		m, err := r.FetchMessage(e.ctx)
		if err != nil {
			e.t.Fatalf("read %d of %d messages: %v", len(got), n, err)
		}
		got[string(m.Key)] = m.Value
	}
	return got
}

// count is the number of messages on the topic (the sum of the partitions'
// end offsets).
func (e *env) count() int64 {
	e.t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(e.conn.Brokers...), Timeout: 10 * time.Second}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.LastOffsetOf(0), kafkago.LastOffsetOf(1), kafkago.LastOffsetOf(2)}}}
	resp, err := cl.ListOffsets(e.ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			e.t.Fatal(p.Error)
		}
		n += p.LastOffset
	}
	return n
}

// random returns n incompressible bytes: compression cannot hide a size.
func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// envelope returns a JSON-ish value of about n bytes that compresses like
// a real Shopify body does.
func envelope(i, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"id":"evt-%d","type":"customer.updated","raw":{"addresses":[`, i)
	for j := 0; b.Len() < n-32; j++ {
		fmt.Fprintf(&b, `{"id":%d,"address1":"%d Rue de la Paix","city":"Paris","zip":"750%02d"},`, j, j, j%100)
	}
	b.WriteString(`{}]}}`)
	return b.Bytes()
}

func msgs(n, size int, value func(i, n int) []byte) []kafkago.Message {
	out := make([]kafkago.Message, n)
	for i := range out {
		out[i] = kafkago.Message{Key: []byte(fmt.Sprintf("k%04d", i)), Value: value(i, size)}
	}
	return out
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// 500 envelopes of 5 KB (2.5 MB, a full REST customer each) go through a
// broker that takes 1 MiB messages: the producer splits the batch. Random
// values, so compression cannot be what makes them fit.
func TestBatchOf500LargeEnvelopesFitsA1MiBBroker(t *testing.T) {
	for _, codec := range []string{"none", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			e := start(t, 1<<20, codec)
			e.operatorTopic()
			p := e.producer(500)
			if l := p.Limit(); l.Bytes != 1<<20 || l.Source != "broker message.max.bytes" {
				t.Fatalf("limit %+v, want the broker's 1 MiB read from the broker", l)
			}
			noErrors(t, p.Write(e.ctx, msgs(500, 5000, func(int, int) []byte { return random(5000) })))
			if n := e.count(); n != 500 {
				t.Fatalf("%d messages on the topic, want 500", n)
			}
		})
	}
}

// On a topic tajo created, a 2 MB record goes through and is read back
// whole.
func TestTwoMegabyteRecordOnATajoTopic(t *testing.T) {
	e := start(t, 0, "lz4")
	e.tajoTopic()
	p := e.producer(500)
	if l := p.Limit(); l.Bytes != kafka.TopicMaxMessageBytes {
		t.Fatalf("limit %+v, want tajo's %d", l, kafka.TopicMaxMessageBytes)
	}
	big := random(2 << 20)
	batch := msgs(3, 100, func(int, int) []byte { return []byte("small") })
	batch[1].Value = big
	noErrors(t, p.Write(e.ctx, batch))
	got := e.read(3)
	if !bytes.Equal(got["k0001"], big) || string(got["k0000"]) != "small" {
		t.Fatalf("2 MB record read back with %d bytes", len(got["k0001"]))
	}
}

// A record over the topic's limit is rejected with its size and the limit;
// the records before and after it in the batch are written.
func TestOversizedRecordIsRejectedAndTheRestWritten(t *testing.T) {
	cases := []struct {
		name      string
		brokerMax int
		tajoTopic bool
		codec     string
		size      int
		limit     int
	}{
		{"tajo topic", 0, true, "lz4", 17 << 20, kafka.TopicMaxMessageBytes},
		{"1 MiB broker, lz4", 1 << 20, false, "lz4", 3 << 19, 1 << 20},
		{"1 MiB broker, uncompressed", 1 << 20, false, "none", 3 << 19, 1 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.brokerMax, tc.codec)
			if tc.tajoTopic {
				e.tajoTopic()
			} else {
				e.operatorTopic()
			}
			p := e.producer(500)
			batch := msgs(21, 2000, func(i, n int) []byte { return envelope(i, n) })
			batch[10].Value = random(tc.size)
			errs := p.Write(e.ctx, batch)
			if len(errs) != len(batch) {
				t.Fatalf("want one error per message, got %v", errs)
			}
			for i, err := range errs {
				if i != 10 && err != nil {
					t.Fatalf("message %d beside the oversized one: %v", i, err)
				}
			}
			var we *kafka.WriteError
			if !errors.As(errs[10], &we) || we.Kind != kafka.Rejected || we.Code != kafka.CodeTooLarge || we.Limit != tc.limit || we.Size < tc.size {
				t.Fatalf("oversized record: %#v", errs[10])
			}
			msg := errs[10].Error()
			if !strings.Contains(msg, fmt.Sprint(we.Size)) || !strings.Contains(msg, fmt.Sprint(tc.limit)) {
				t.Fatalf("reason lacks the size or the limit: %s", msg)
			}
			if n := e.count(); n != 20 {
				t.Fatalf("%d messages on the topic, want the 20 around the oversized one", n)
			}
		})
	}
}

// Compressed, a record larger than the limit before compression still goes
// through when it fits after: a 2 MB order on a 1 MiB broker.
func TestCompressibleRecordAboveTheLimitFitsCompressed(t *testing.T) {
	e := start(t, 1<<20, "lz4")
	e.operatorTopic()
	p := e.producer(500)
	order := envelope(1, 2<<20)
	noErrors(t, p.Write(e.ctx, []kafkago.Message{{Key: []byte("k0000"), Value: order}}))
	if got := e.read(1)["k0000"]; !bytes.Equal(got, order) {
		t.Fatalf("read back %d bytes of %d", len(got), len(order))
	}
}

// A producer that believes the limit is larger than it is (the topic's
// limit was lowered after start) gets whole batches refused; it writes
// their records one by one instead of rejecting or retrying them all.
func TestBatchRefusedAsAWholeIsWrittenRecordByRecord(t *testing.T) {
	e := start(t, 1<<20, "none")
	e.operatorTopic()
	p := e.conn.NewProducer(topic, 500, kafka.Limit{Bytes: 8 << 20, Source: "test"})
	defer p.Close()
	noErrors(t, p.Write(e.ctx, msgs(500, 5000, func(int, int) []byte { return random(5000) })))
	if n := e.count(); n != 500 {
		t.Fatalf("%d messages on the topic, want 500", n)
	}
}

// Without DescribeConfigs answers the configured broker.max_message_bytes
// is the limit.
func TestLimitFallsBackToTheConfiguredOne(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ControlKey(int16(kmsg.DescribeConfigs), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.DescribeConfigsRequest)
		resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
		for _, r := range req.Resources {
			rr := kmsg.NewDescribeConfigsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ErrorCode = r.ResourceType, r.ResourceName, kerr.ClusterAuthorizationFailed.Code
			resp.Resources = append(resp.Resources, rr)
		}
		return resp, nil, true
	})
	e := connect(t, c.ListenAddrs(), "lz4")
	e.conn.MaxMessageBytes = 512 << 10
	if l := e.conn.MaxMessage(e.ctx, topic); l.Bytes != 512<<10 || l.Source != "broker.max_message_bytes" {
		t.Fatalf("limit %+v", l)
	}
}

// A retryable broker answer (not enough in-sync replicas) comes back as
// retryable, never rejected, and the same records are written on the next
// attempt.
func TestRetryableAnswerIsRetried(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.NotEnoughReplicas.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	e := connect(t, c.ListenAddrs(), "lz4")
	p := e.producer(500)
	batch := msgs(1, 100, func(int, int) []byte { return []byte("v") })
	errs := p.Write(e.ctx, batch)
	if k, _ := kafka.Classify(errs[0]); k != kafka.Retryable {
		t.Fatalf("not enough replicas: %v (%v), want retryable", errs[0], k)
	}
	noErrors(t, p.Write(e.ctx, batch))
	if n := e.count(); n != 1 {
		t.Fatalf("%d messages on the topic, want 1", n)
	}
}

// A broker that is gone answers nothing: retryable, for every record of
// the batch (none is rejected because the network failed).
func TestBrokerDownIsRetryable(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	e := connect(t, b.Addrs(), "lz4")
	e.tajoTopic()
	p := e.producer(500)
	b.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	batch := msgs(5, 100, func(int, int) []byte { return []byte("v") })
	batch[2].Value = random(2 << 20)
	for i, err := range p.Write(ctx, batch) {
		if k, _ := kafka.Classify(err); err == nil || k != kafka.Retryable {
			t.Fatalf("message %d with the broker down: %v (%v)", i, err, k)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		kind kafka.Kind
		code string
	}{
		{kafkago.MessageSizeTooLarge, kafka.Rejected, kafka.CodeTooLarge},
		{kafkago.RecordListTooLarge, kafka.Rejected, kafka.CodeTooLarge},
		{kafkago.InvalidRecord, kafka.Rejected, kafka.CodeInvalidRecord},
		{kafkago.InvalidMessage, kafka.Rejected, kafka.CodeInvalidRecord},
		{kafkago.InvalidTimestamp, kafka.Rejected, kafka.CodeInvalidRecord},
		{kafkago.MessageTooLargeError{}, kafka.Rejected, kafka.CodeTooLarge},
		{kafkago.NotLeaderForPartition, kafka.Retryable, ""},
		{kafkago.LeaderNotAvailable, kafka.Retryable, ""},
		{kafkago.NotEnoughReplicas, kafka.Retryable, ""},
		{kafkago.NotEnoughReplicasAfterAppend, kafka.Retryable, ""},
		{kafkago.RequestTimedOut, kafka.Retryable, ""},
		{kafkago.NetworkException, kafka.Retryable, ""},
		{fmt.Errorf("dial: %w", io.ErrUnexpectedEOF), kafka.Retryable, ""},
		{context.DeadlineExceeded, kafka.Retryable, ""},
		{kafkago.TopicAuthorizationFailed, kafka.Fatal, ""},
		{kafkago.SASLAuthenticationFailed, kafka.Fatal, ""},
		{kafkago.UnsupportedCompressionType, kafka.Fatal, ""},
		{kafkago.InvalidRequiredAcks, kafka.Fatal, ""},
	}
	for _, tc := range cases {
		if k, code := kafka.Classify(tc.err); k != tc.kind || code != tc.code {
			t.Errorf("%v: %v %q, want %v %q", tc.err, k, code, tc.kind, tc.code)
		}
	}
}

// BenchmarkProduceLargeEnvelopes writes batches of 500 × 5 KB envelopes to
// a 1 MiB broker and reports what reached the topic.
func BenchmarkProduceLargeEnvelopes(b *testing.B) {
	br, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", DataDir: b.TempDir(), MaxMessageBytes: 1 << 20, Log: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	e := connect(b, br.Addrs(), "lz4")
	e.operatorTopic()
	p := e.conn.NewProducer(topic, 500, e.conn.MaxMessage(e.ctx, topic))
	defer p.Close()
	batch := msgs(500, 5000, func(i, n int) []byte { return envelope(i, n) })
	b.SetBytes(int64(500 * 5000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if errs := p.Write(e.ctx, batch); errs != nil {
			b.Fatal(errs)
		}
	}
	b.StopTimer()
	if n := e.count(); n != int64(500*b.N) {
		b.Fatalf("%d on the topic, want %d", n, 500*b.N)
	}
	b.ReportMetric(float64(e.count())/b.Elapsed().Seconds(), "records/s")
}

// Topics tajo creates carry its message limit and a bounded retention
// (broker.retention).
func TestCreatedTopicConfig(t *testing.T) {
	e := start(t, 0, "lz4")
	e.conn.Retention = 36 * time.Hour
	e.tajoTopic()
	cl := &kafkago.Client{Addr: kafkago.TCP(e.conn.Brokers...), Timeout: 10 * time.Second}
	resp, err := cl.DescribeConfigs(e.ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"max.message.bytes", "retention.ms"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range resp.Resources {
		for _, c := range r.ConfigEntries {
			got[c.ConfigName] = c.ConfigValue
		}
	}
	if got["max.message.bytes"] != fmt.Sprint(16<<20) || got["retention.ms"] != fmt.Sprint((36*time.Hour).Milliseconds()) {
		t.Fatalf("topic config %v", got)
	}
}

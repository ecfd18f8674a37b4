package kafka_test

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tajo/tajo/pipeline/broker"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/kafka"
	"github.com/tajo/tajo/pipeline/pipelinetest"
)

// broker.client_id is the client id the broker sees: the consumer group's
// member joined as it.
func TestClientIDReachesTheBroker(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bc := config.Default().Broker
	bc.ClientID = "acme-tajo"
	conn, err := kafka.NewConn(bc, b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := conn.EnsureTopics(ctx, kafka.Topic{Name: topic, Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	r := conn.NewReader(topic, "g")
	defer r.Close()
	fetch, stop := context.WithCancel(ctx)
	defer stop()
	go r.FetchMessage(fetch) // joins the group; the topic stays empty
	cl := &kafkago.Client{Addr: kafkago.TCP(b.Addrs()...), Timeout: 10 * time.Second}
	for {
		resp, err := cl.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{"g"}})
		if err == nil && len(resp.Groups) == 1 && len(resp.Groups[0].Members) > 0 {
			if id := resp.Groups[0].Members[0].ClientID; id != "acme-tajo" {
				t.Fatalf("the group member's client id is %q, want broker.client_id acme-tajo", id)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the reader never joined group g: %+v %v", resp, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// broker.tls.insecure_skip_verify accepts a certificate no root trusts;
// without it the client refuses the handshake. server_name is the name it
// asks for.
func TestTLSInsecureSkipVerifyAndServerName(t *testing.T) {
	cert, key := pipelinetest.SelfSigned(t, t.TempDir(), "kafka.internal")
	addr, handshakes := pipelinetest.RecordTLS(t, cert, key)
	dial := func(tls config.TLS) pipelinetest.Handshake {
		t.Helper()
		bc := config.Default().Broker
		bc.Brokers, bc.TLS = []string{addr}, tls
		conn, err := kafka.NewConn(bc, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go conn.EnsureTopics(ctx, kafka.Topic{Name: topic, Partitions: 1, ReplicationFactor: 1}) // fails: no Kafka behind the handshake
		select {
		case h := <-handshakes:
			return h
		case <-ctx.Done():
			t.Fatal("the client never reached the TLS listener")
		}
		return pipelinetest.Handshake{}
	}
	if h := dial(config.TLS{Enabled: true, InsecureSkipVerify: true, ServerName: "kafka.internal"}); h.Err != nil || h.ServerName != "kafka.internal" {
		t.Errorf("insecure_skip_verify: true, server_name kafka.internal: handshake %v, server name %q", h.Err, h.ServerName)
	}
	if h := dial(config.TLS{Enabled: true}); h.Err == nil {
		t.Error("insecure_skip_verify: false completed a handshake with a certificate no root trusts")
	}
}
